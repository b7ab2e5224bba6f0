// Build-time slimming of lit in the script-tag bundle: the code of lit the element never runs. Used by scripts/bundle.ts.
import type { Plugin } from 'vite';
import { applyCuts, type Cut } from './slim.js';

/** `applyCuts` for lit's files: a changed published text fails the build as "lit slimming". */
export function applyLitCuts(code: string, file: string, cuts: readonly Cut[]): string {
  return applyCuts(code, file, cuts, 'lit slimming');
}

/** Thrown (by the code left in) when a template or a property asks for what this build of lit leaves out. */
const LEFT_OUT = 'is not in this build of lit';

/**
 * The edits, by file under node_modules, of the published (minified) lit 3.3.3 / lit-element 4.2.2 /
 * @lit/reactive-element 2.1.2 that the bundler resolves for the browser.
 */
export const LIT_CUTS: Record<string, Cut[]> = {
  '@lit/reactive-element/css-tag.js': [
    // Every target browser adopts constructable style sheets (and no ShadyCSS polyfill is loaded): the strict CSP
    // test proves no `<style>` element is needed, and `styleSheet` is read for the presenters' and picker's sheets.
    {
      from: 'e=t.ShadowRoot&&(void 0===t.ShadyCSS||t.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,',
      with: 'e=!0,',
    },
    // The guard stays; its advice about `unsafeCSS`, which the element does not use, goes.
    { from: 'throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.")', with: 'throw Error("CSSResult is not constructable")' },
    // The element's `css` literals have no bindings (literalsPlugin refuses one), so the join of interpolated
    // `css` results and its long message go; a binding throws.
    {
      from: 'i=(t,...e)=>{const o=1===t.length?t[0]:e.reduce(',
      to: 'return new n(o,t,s)},',
      with: `i=(t,...e)=>{if(e.length)throw Error("[pay-checkout] a binding in css ${LEFT_OUT}");return new n(t[0],t,s)},`,
    },
    // No fallback to `<style>` elements (nor `litNonce`): see above.
    {
      from: 'S=(s,o)=>{if(e)s.adoptedStyleSheets=',
      to: 's.appendChild(o)}},',
      with: 'S=(s,o)=>{s.adoptedStyleSheets=o.map(t=>t instanceof CSSStyleSheet?t:t.styleSheet)},',
    },
    // Converting a CSSStyleSheet back to text is only for browsers without adoptedStyleSheets.
    { from: 'c=e?t=>t:t=>t instanceof CSSStyleSheet?(t=>{let e="";for(const s of t.cssRules)e+=s.cssText;return r(e)})(t):t;', with: 'c=t=>t;' },
  ],
  '@lit/reactive-element/reactive-element.js': [
    // `emptyScript` is a TrustedScript for reflecting a boolean into an event-handler attribute; the one reflected
    // property is `disabled`, no Trusted Types sink. No polyfill-support hook either (no ShadyDOM is loaded).
    { from: 'c=a.trustedTypes,l=c?c.emptyScript:"",p=a.reactiveElementPolyfillSupport,', with: 'l="",' },
    { from: 'getOwnPropertyNames:r,getOwnPropertySymbols:o,', with: 'getOwnPropertyNames:r,' },
    // The element's properties are strings or `type: Boolean`: the Number, Object and Array conversions go.
    {
      from: 'u={toAttribute(t,s){switch(s){',
      to: '}return i}},',
      with: 'u={toAttribute:(t,s)=>s===Boolean?t?l:null:t,fromAttribute:(t,s)=>s===Boolean?null!==t:t},',
    },
    // No decorators: neither `Symbol.metadata` nor the `litPropertyMetadata` registry they fill is set up or read,
    // and no initializers are added. No custom converters nor `useDefault` either (see createProperty below).
    {
      from: 'b={attribute:!0,type:String,converter:u,reflect:!1,useDefault:!1,hasChanged:f};Symbol.metadata??=Symbol("metadata"),a.litPropertyMetadata??=new WeakMap;',
      with: 'b={attribute:!0,type:String,reflect:!1,hasChanged:f};',
    },
    { from: 'static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}' },
    // A property option whose code is left out throws when the class is defined instead of being ignored: a type
    // other than String or Boolean, a custom converter, `useDefault`, or an accessor the class defines itself
    // (lit would wrap it; the element declares its properties with `declare` only).
    {
      from: 'static createProperty(t,s=b){if(s.state&&(s.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((s=Object.create(s)).wrapped=!0),',
      with: `static createProperty(t,s=b){if(s.converter||s.useDefault||s.type&&s.type!==String&&s.type!==Boolean||this.prototype.hasOwnProperty(t))throw TypeError("[pay-checkout] an option of property "+String(t)+" ${LEFT_OUT}");if(s.state&&(s.attribute=!1),this._$Ei(),`,
    },
    { from: 'void 0!==t.l&&(this.l=[...t.l]),' },
    // `static properties` is keyed by names, not symbols; the decorators' metadata is not read (see above).
    {
      from: 'const t=this.properties,s=[...r(t),...o(t)];for(const i of s)this.createProperty(i,t[i])}',
      to: 'this.elementProperties.set(t,i)}',
      with: 'const t=this.properties;for(const i of r(t))this.createProperty(i,t[i])}',
    },
    // `static styles` is one `css` result; an array is still flattened, without lit's de-duplication.
    {
      from: 'static finalizeStyles(s){const i=[];if(Array.isArray(s)){',
      to: 'else void 0!==s&&i.push(t(s));return i}',
      with: 'static finalizeStyles(s){return void 0===s?[]:[s].flat(1/0)}',
    },
    { from: ',this.constructor.l?.forEach(t=>t(this))' },
    // Reflecting and reading attributes with the default converter only.
    { from: 'const h=(void 0!==i.converter?.toAttribute?i.converter:u).toAttribute(s,i.type);', with: 'const h=u.toAttribute(s,i.type);' },
    {
      from: ',h="function"==typeof t.converter?{fromAttribute:t.converter}',
      to: 'this[e]=r??this._$Ej?.get(e)??r,',
      with: ';this._$Em=e,this[e]=u.fromAttribute(s,t.type),',
    },
    // `useDefault` and wrapped accessors: their bookkeeping in requestUpdate, the change record and the first update.
    { from: '||i.useDefault&&i.reflect&&h===this._$Ej?.get(t)&&!this.hasAttribute(r._$Eu(t,i))))return;', with: '))return;' },
    {
      from: 'C(t,s,{useDefault:i,reflect:e,wrapped:h},r){',
      to: '(this._$Eq??=new Set).add(t))}',
      with: 'C(t,s,{reflect:e}){this._$AL.has(t)||(this.hasUpdated||(s=void 0),this._$AL.set(t,s)),!0===e&&this._$Em!==t&&(this._$Eq??=new Set).add(t)}',
    },
    { from: 'const t=this.constructor.elementProperties;if(t.size>0)for(const[s,i]of t){', to: 'this.C(s,void 0,i,e)}' },
    // The polyfill hook and the global list of loaded versions (a dev-tools aid).
    { from: ',p?.({ReactiveElement:y}),(a.reactiveElementVersions??=[]).push("2.1.2");', with: ';' },
  ],
  'lit-html/lit-html.js': [
    // Only `html` templates: `svg` and `mathml` are no longer exported (importing one fails the build), and their
    // wrapping in the parser goes. The Trusted Types policy stays: the element renders on pages that enforce them.
    { from: 'x=t=>(i,...s)=>({_$litType$:t,strings:i,values:s}),b=x(1),w=x(2),T=x(3),', with: 'b=(t,...i)=>({_$litType$:1,strings:t,values:i}),' },
    { from: 'l=2===i?"<svg>":3===i?"<math>":""', with: 'l=""' },
    { from: '+(2===i?"</svg>":3===i?"</math>":"")' },
    {
      from: 'if(this.el=S.createElement(f,e),P.currentNode=this.el.content,2===i||3===i){',
      to: 't.replaceWith(...t.childNodes)}',
      with: 'this.el=S.createElement(f,e),P.currentNode=this.el.content;',
    },
    // No template holds a raw-text element (`<script>`, `<style>`, `<textarea>`, `<title>`): their parsing and
    // bindings go; such an element in a template throws when it is first rendered.
    {
      from: 'y.test(u[2])&&(n=RegExp("</"+u[2],"g"))',
      with: `y.test(u[2])&&(()=>{throw Error("[pay-checkout] <"+u[2]+"> in a template ${LEFT_OUT}")})()`,
    },
    { from: 'if(y.test(r.tagName)){const t=r.textContent.split(o)', to: 'r.append(t[i],c())}}' },
    // No directive is imported (nothing from `lit/directive*`): values render as they are; a directive result throws.
    {
      from: 'function M(t,i,s=t,e){if(i===E)return i;',
      to: '(i=M(t,h._$AS(t,i.values),h,e)),i}',
      with: `function M(t,i){if(!a(i)&&void 0!==i._$litDirective$)throw Error("[pay-checkout] a directive ${LEFT_OUT}");return i}`,
    },
    // Compiled templates (`_$litType$` holding a prepared template) come from lit's template compiler only.
    {
      from: '$(t){const{values:i,_$litType$:s}=t,e="number"==typeof s?this._$AC(t):(void 0===s.el&&(s.el=S.createElement(V(s.h,s.h[0]),this.options)),s);',
      with: '$(t){const{values:i}=t,e=this._$AC(t);',
    },
    { from: ',B=t.litHtmlPolyfillSupport;B?.(S,k),(t.litHtmlVersions??=[]).push("3.3.3");', with: ';' },
    { from: 'T as mathml,' },
    { from: ',w as svg}', with: '}' },
  ],
  'lit-element/lit-element.js': [
    // No hydration of server-rendered markup, no polyfill hook, no private export for lit's SSR package, no
    // version list.
    {
      from: ',s.litElementHydrateSupport?.({LitElement:i});',
      to: 'export{i as LitElement,n as _$LE};',
      with: ';export{i as LitElement};',
    },
  ],
};

/**
 * What of lit the element uses: `LitElement` with `static properties` (strings, and `type: Boolean, reflect: true`)
 * and `static styles` (`css` literals without bindings, adopted as constructable style sheets), `html` templates
 * with attribute, property, boolean and event bindings, `nothing`, `render`, reactive controllers and the update
 * cycle. The script-tag bundle leaves out the code of the rest: polyfill and hydration hooks, the `<style>` fallback,
 * decorator metadata and initializers, the Number / Object / Array converters, custom converters and `useDefault`,
 * `svg` / `mathml`, raw-text elements in templates, directives, compiled templates and the global version lists.
 * What a later change could still ask for throws (at definition or first render) instead of being ignored. Each edit
 * names the exact published text it replaces, so a different lit version fails the build instead of being cut
 * blindly; a lit file the build never transforms (resolved elsewhere, say) fails it too. The npm entry and the
 * browser tests use lit as published; the end-to-end tests run this build.
 */
export function litSlimPlugin(): Plugin {
  const seen = new Set<string>();
  return {
    name: 'pay-checkout:lit-slim',
    transform(code, id) {
      const match = /[\\/]node_modules[\\/]((?:@lit[\\/])?[\w-]+[\\/][^\\/?]+\.js)$/.exec(id);
      const file = match?.[1]?.replace(/\\/g, '/');
      const cuts = file ? LIT_CUTS[file] : undefined;
      if (!cuts) return null;
      seen.add(file!);
      return { code: applyLitCuts(code, file!, cuts), map: null };
    },
    buildEnd(error) {
      const missed = Object.keys(LIT_CUTS).filter((file) => !seen.has(file));
      if (!error && missed.length) throw new Error(`[pay-checkout] lit slimming: never transformed ${missed.join(', ')}`);
    },
  };
}
