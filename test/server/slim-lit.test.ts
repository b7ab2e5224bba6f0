// The lit slimming of the script-tag bundle (scripts/slim-lit.ts): its edits apply to the installed lit, a changed
// published text fails instead of being cut blindly, and a LitElement bundled with it still works in Chromium.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright';
import { build, type Plugin } from 'vite';
import { ROOT } from '../../scripts/bundle.js';
import { CHROMIUM_ARGS, requireChromium } from '../../scripts/chromium.mjs';
import { applyLitCuts, LIT_CUTS, litSlimPlugin } from '../../scripts/slim-lit.js';

const published = (file: string) => readFileSync(resolve(ROOT, 'node_modules', file), 'utf8');

/** Bundles `code` (an ES module importing lit) with the lit slimming, as the script-tag bundle is built. */
async function bundle(code: string): Promise<string> {
  const probe: Plugin = {
    name: 'probe',
    resolveId: (id) => (id === 'lit-probe' ? '\0lit-probe' : null),
    load: (id) => (id === '\0lit-probe' ? code : null),
  };
  const output = await build({
    root: ROOT,
    configFile: false,
    logLevel: 'silent',
    plugins: [probe, litSlimPlugin()],
    build: { write: false, minify: true, target: 'es2022', rollupOptions: { input: 'lit-probe', output: { format: 'es' } } },
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => ('output' in o ? o.output : []));
  const chunk = chunks.find((c) => c.type === 'chunk');
  assert.ok(chunk && chunk.type === 'chunk');
  return chunk.code;
}

const PROBE = `
import { LitElement, css, html, nothing, render } from 'lit';
class LitProbe extends LitElement {
  static properties = { label: {}, disabled: { type: Boolean, reflect: true }, count: { attribute: false }, itemName: { attribute: 'item-name' } };
  static styles = css\`:host{display:block}button{color:rgb(1, 2, 3)}\`;
  constructor() { super(); this.label = 'pay'; this.disabled = false; this.count = 0; this.itemName = null; }
  render() {
    return html\`<button ?disabled=\${this.disabled} .title=\${this.label} aria-label="\${this.label} \${this.count}"
      @click=\${() => this.count++}>\${this.label} \${this.count}</button>\${this.itemName ? html\`<i>\${this.itemName}</i>\` : nothing}
      <ul>\${['a', 'b'].map((x) => html\`<li>\${x}</li>\`)}</ul>\`;
  }
}
customElements.define('lit-probe', LitProbe);
window.renderInto = (el, text) => render(html\`<b>\${text}</b>\`, el);
window.refusalOf = (name, options) => {
  if (options.type === 'Number') options.type = Number;
  else if (options.type === 'String') options.type = String;
  else if (options.type === 'Boolean') options.type = Boolean;
  try {
    customElements.define(name, class extends LitElement { static properties = { value: options }; });
    return 'defined';
  } catch (error) {
    return error.message;
  }
};
`;

describe('the lit slimming of the script-tag bundle', () => {
  it('applies every edit to the installed lit', () => {
    for (const [file, cuts] of Object.entries(LIT_CUTS)) {
      const code = published(file);
      const slim = applyLitCuts(code, file, cuts);
      assert.ok(slim.length < code.length, file);
    }
  });

  it('refuses a published text that has changed, naming the file and the text', () => {
    const file = 'lit-html/lit-html.js';
    const changed = published(file).replace('.push("3.3.3")', '.push("3.3.4")');
    assert.throws(() => applyLitCuts(changed, file, LIT_CUTS[file]!), /lit slimming: lit-html\/lit-html\.js has changed \(.*litHtmlVersions/);
    assert.throws(() => applyLitCuts('', 'x.js', [{ from: 'a' }]), /lit slimming: x\.js has changed \("a"\)/);
    assert.throws(() => applyLitCuts('a a', 'x.js', [{ from: 'a' }]), /has changed/, 'a text found twice is refused');
  });

  it('fails the build when a lit file it edits is never transformed (resolved elsewhere)', async () => {
    await assert.rejects(
      bundle(`import { html } from 'lit-html'; console.log(html);`),
      /lit slimming: never transformed/,
    );
  });

  it('fails the build on an import of svg or mathml', async () => {
    await assert.rejects(bundle(`import { svg } from 'lit'; console.log(svg);`), /svg/);
  });

  describe('a LitElement bundled with it, in Chromium', () => {
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];

    before(async () => {
      const code = await bundle(PROBE);
      assert.doesNotMatch(code, /ShadyCSS|litHtmlVersions|litPropertyMetadata|litElementHydrateSupport/);
      browser = await chromium.launch({ executablePath: requireChromium(), args: CHROMIUM_ARGS });
      page = await browser.newPage();
      page.on('pageerror', (error) => errors.push(error.message));
      await page.setContent('<!doctype html><html><body><lit-probe item-name="tea"></lit-probe><div id="out"></div></body></html>');
      await page.addScriptTag({ type: 'module', content: code });
      await page.waitForFunction(() => customElements.get('lit-probe') !== undefined);
    });

    after(async () => {
      await browser?.close();
    });

    it('defines the element and renders its template with bindings, lists and an attribute-set property', async () => {
      const text = await page.evaluate(async () => {
        const el = document.querySelector('lit-probe') as HTMLElement & { updateComplete: Promise<boolean> };
        await el.updateComplete;
        const button = el.shadowRoot!.querySelector('button')!;
        return [button.textContent, button.title, button.getAttribute('aria-label'), el.shadowRoot!.querySelector('i')?.textContent, el.shadowRoot!.querySelectorAll('li').length];
      });
      assert.deepEqual(text, ['pay 0', 'pay', 'pay 0', 'tea', 2]);
    });

    it('runs an event listener, which updates the element', async () => {
      const text = await page.evaluate(async () => {
        const el = document.querySelector('lit-probe') as HTMLElement & { updateComplete: Promise<boolean> };
        el.shadowRoot!.querySelector('button')!.click();
        await el.updateComplete;
        return el.shadowRoot!.querySelector('button')!.textContent;
      });
      assert.equal(text, 'pay 1');
    });

    it('reflects a boolean property and reads it back from the attribute', async () => {
      const states = await page.evaluate(async () => {
        const el = document.querySelector('lit-probe') as HTMLElement & { disabled: boolean; updateComplete: Promise<boolean> };
        el.disabled = true;
        await el.updateComplete;
        const on = [el.getAttribute('disabled'), el.shadowRoot!.querySelector('button')!.disabled];
        el.removeAttribute('disabled');
        await el.updateComplete;
        return [...on, el.disabled, el.hasAttribute('disabled'), el.shadowRoot!.querySelector('button')!.disabled];
      });
      assert.deepEqual(states, ['', true, false, false, false]);
    });

    it('adopts its static styles as a constructable style sheet', async () => {
      const styles = await page.evaluate(() => {
        const el = document.querySelector('lit-probe')!;
        return [el.shadowRoot!.adoptedStyleSheets.length, el.shadowRoot!.querySelectorAll('style').length, getComputedStyle(el).display, getComputedStyle(el.shadowRoot!.querySelector('button')!).color];
      });
      assert.deepEqual(styles, [1, 0, 'block', 'rgb(1, 2, 3)']);
    });

    it('renders with render() into any container', async () => {
      const html = await page.evaluate(() => {
        const out = document.getElementById('out')!;
        (window as unknown as { renderInto: (el: Element, text: string) => void }).renderInto(out, 'x');
        return out.innerHTML.replace(/<!--[^]*?-->/g, '');
      });
      assert.equal(html, '<b>x</b>');
    });

    it('throws on a property option whose code is left out, instead of ignoring it', async () => {
      const refusals: string[] = [];
      for (const [i, options] of [{ type: 'Number' }, { converter: 'converter' }, { useDefault: true }, { type: 'String' }, { type: 'Boolean' }].entries()) {
        refusals.push(await page.evaluate(([name, options]) => (window as unknown as { refusalOf: (name: string, options: object) => string }).refusalOf(name, options), [`lit-option-${i}`, options] as const));
      }
      assert.match(refusals[0]!, /an option of property value is not in this build of lit/);
      assert.match(refusals[1]!, /not in this build/);
      assert.match(refusals[2]!, /not in this build/);
      assert.deepEqual(refusals.slice(3), ['defined', 'defined']);
      assert.deepEqual(errors, []);
    });
  });
});
