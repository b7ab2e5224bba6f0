/**
 * `defineProvider()`: the one place an adapter declares what its provider is and can do. The adapter extends the
 * class it returns and writes only what is its own (create, callbacks, status, cancel):
 *
 *   export class RepayProvider extends defineProvider<RepayConfig>({ id: 'repay', name: 'Repay', cancel: false, … }) {
 *
 * From the declaration and the adapter's configuration the class makes the descriptor every adapter has (id, name,
 * methods, amount limits, frameable, sandbox, `capabilities`) and the common defaults: a RUB amount check, no data
 * prepared before the create call, the `200 OK` callback answer, and status re-reads once the provider payment is
 * known. The core asks these instead of testing provider ids.
 */
import type { ProviderCommonConfig } from '../config.js';
import type { SessionRecord } from '../store.js';
import type { MethodId, ProviderId, SessionStatus } from '../types.js';
import { checkRubAmount } from './common.js';
import type {
  CallbackInput,
  CallbackReply,
  CreatePaymentInput,
  CreatedPayment,
  ParsedCallback,
  PaymentProvider,
  ProviderCapabilities,
  ProviderStatusResult,
  VerifiedClaim,
  WebhookPathKind,
} from './types.js';

export interface ProviderDefinition<C extends ProviderCommonConfig> {
  readonly id: ProviderId;
  readonly name: string;
  /** The provider's id of each payment method the configuration sets up (unset or empty: the method is not offered). */
  readonly methods: (config: C) => Partial<Record<MethodId, string | number>>;
  /** Whether the provider has a cancel call (a function when that depends on the configuration). */
  readonly cancel: boolean | ((config: C) => boolean);
  /** Where callbacks arrive: `/webhooks/<id>` (`shared`) or `/webhooks/<id>/<session id>` (`per-session`). */
  readonly webhookPath: WebhookPathKind;
  /** The provider appends `status=success|error` to the return URL (see ProviderCapabilities); default false. */
  readonly returnStatusParam?: boolean;
  /** Whether the status can be re-read for a session; default: once the session knows its provider payment. */
  readonly canFetchStatus?: (session: SessionRecord) => boolean;
  /** The provider's raw statuses of a payment made and still being checked or paid out (see PaymentProvider). */
  readonly underwayStatuses?: readonly string[];
}

/** Every adapter answers an accepted callback this way; Repay counts anything but HTTP 200 with body "OK" as undelivered. */
const OK_REPLY: CallbackReply = { status: 200, body: 'OK', contentType: 'text/plain; charset=utf-8' };

const knowsPayment = (session: SessionRecord): boolean => Boolean(session.providerPaymentId);

/** The base of every adapter: the descriptor made from its definition and configuration, and the common defaults. */
export abstract class DefinedProvider<C extends ProviderCommonConfig> implements PaymentProvider {
  readonly id: ProviderId;
  readonly name: string;
  readonly methods: readonly MethodId[];
  readonly minAmountMinor: number;
  readonly maxAmountMinor: number;
  readonly frameable: boolean;
  readonly sandbox: boolean;
  readonly capabilities: ProviderCapabilities;
  protected readonly config: C;
  readonly #canFetchStatus: (session: SessionRecord) => boolean;
  readonly #underway: readonly string[];

  constructor(definition: ProviderDefinition<C>, config: C) {
    this.config = config;
    this.id = definition.id;
    this.name = definition.name;
    const methods = definition.methods(config);
    this.methods = (Object.keys(methods) as MethodId[]).filter((method) => methods[method] !== undefined && methods[method] !== '');
    this.minAmountMinor = config.minAmount * 100;
    this.maxAmountMinor = config.maxAmount * 100;
    this.frameable = config.frameable;
    this.sandbox = config.sandbox;
    this.capabilities = Object.freeze({
      cancel: typeof definition.cancel === 'function' ? definition.cancel(config) : definition.cancel,
      webhookPath: definition.webhookPath,
      returnStatusParam: definition.returnStatusParam ?? false,
    });
    this.#canFetchStatus = definition.canFetchStatus ?? knowsPayment;
    this.#underway = definition.underwayStatuses ?? [];
  }

  checkAmount(amountMinor: number, currency: string): void {
    checkRubAmount(this.name, amountMinor, currency, this.minAmountMinor, this.maxAmountMinor);
  }

  prepare(): Record<string, unknown> {
    return {};
  }

  callbackReply(): CallbackReply {
    return OK_REPLY;
  }

  canFetchStatus(session: SessionRecord): boolean {
    return this.#canFetchStatus(session);
  }

  paymentUnderway(session: SessionRecord): boolean {
    return session.providerStatus !== null && this.#underway.includes(session.providerStatus);
  }

  abstract create(input: CreatePaymentInput): Promise<CreatedPayment>;
  abstract parseCallback(input: CallbackInput): ParsedCallback;
  abstract verifyCallback(input: CallbackInput, parsed: ParsedCallback, session: SessionRecord | undefined): VerifiedClaim;
  abstract mapStatus(rawStatus: string, session?: SessionRecord): SessionStatus | undefined;
  abstract fetchStatus(session: SessionRecord): Promise<ProviderStatusResult>;
  abstract cancel(session: SessionRecord): Promise<void>;
}

/** The base class of an adapter declared by `definition` (see the top of this file). */
export function defineProvider<C extends ProviderCommonConfig>(definition: ProviderDefinition<C>): abstract new (config: C) => DefinedProvider<C> {
  abstract class Provider extends DefinedProvider<C> {
    constructor(config: C) {
      super(definition, config);
    }
  }
  return Provider;
}

/**
 * The claim a verified callback makes. Every adapter's callbacks are triggers: the status is re-read before anything
 * moves (`reread`), because the status is unsigned (Repay), the IPN is only a notice (BoxExchanger) or the format is
 * unconfirmed (age.trading).
 */
export function verifiedClaim(parsed: ParsedCallback, authenticated: boolean): VerifiedClaim {
  const claim = parsed.claim;
  return {
    authenticated,
    covers: parsed.dedupeKey,
    reread: true,
    fields: parsed.fields,
    ...(parsed.providerPaymentId !== undefined ? { providerPaymentId: parsed.providerPaymentId } : {}),
    ...(parsed.reference !== undefined ? { reference: parsed.reference } : {}),
    ...(parsed.eventTimestamp !== undefined ? { eventTimestamp: parsed.eventTimestamp } : {}),
    ...(claim ? { status: claim.status === undefined ? { raw: claim.rawStatus } : { raw: claim.rawStatus, unified: claim.status } } : {}),
    ...(claim?.paidAmountMinor !== undefined ? { paidAmountMinor: claim.paidAmountMinor } : {}),
  };
}
