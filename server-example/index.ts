/**
 * The merchant backend helper: `createCheckoutApp(config)` (a Hono app with the routes under /api/checkout),
 * `loadConfig(env)`, `startServer(options)` and the types. See docs/server.md.
 */
export { createCheckoutApp, buildProviders, openStore, METHOD_LABELS, MAX_BODY_BYTES } from './app.js';
export type { CheckoutApp, CheckoutRuntime } from './app.js';
export { loadConfig, ConfigError, providerBaseUrl, checkoutBasePath, DEFAULT_BASE_PATH } from './config.js';
export type {
  AgeTradingConfig,
  BoxExchangerConfig,
  CheckoutConfig,
  CheckoutMode,
  DeliveryConfig,
  LoadConfigOptions,
  MerchantWebhooksConfig,
  OrderResolveConfig,
  ProviderCommonConfig,
  ProvidersConfig,
  ReconcileConfig,
  RepayConfig,
} from './config.js';
export { startServer } from './node-server.js';
export { nodeHandler, keepRawBody } from './node-handler.js';
export type { FetchApp, NodeHandler, NodeHandlerOptions, NodeRequest } from './node-handler.js';
export { createSandboxApp, parseFrameDeny } from './sandbox/index.js';
export type { SandboxOptions } from './sandbox/index.js';
export type { RunningServer, StartServerOptions } from './node-server.js';
export { CheckoutError, ERROR_CODES } from './errors.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { createLogger } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { SqliteStore, OpenSessionExistsError, ProviderPaymentTakenError } from './store.js';
export type {
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryStatus,
  EventKind,
  EventRecord,
  IdempotencyRecord,
  Mutation,
  MutationContext,
  NewDelivery,
  NewEvent,
  PruneReport,
  RejectedCallback,
  RejectedCallbackRecord,
  SessionRecord,
  Store,
} from './store.js';
export { PostgresStore } from './store-postgres.js';
export type { PostgresStoreOptions } from './store-postgres.js';
export { Reconciler } from './reconciler.js';
export type { ReconcileReport } from './reconciler.js';
export { SessionService } from './sessions.js';
export { demoResolveOrder } from './demo-orders.js';
export { createHttpOrderResolver, DEFAULT_ORDER_RESOLVE_TIMEOUT_MS } from './order-resolver.js';
export type { HttpOrderResolverOptions, OrderResolveRequestBody } from './order-resolver.js';
export {
  generateWebhookSecret,
  newWebhookId,
  signWebhook,
  validateWebhookSecret,
  WebhookSecretError,
} from './merchant-webhooks/signing.js';
export type { SignWebhookOptions, WebhookSignatureHeaders } from './merchant-webhooks/signing.js';
export { DeliverySender } from './merchant-webhooks/sender.js';
export type { DeliveryReport } from './merchant-webhooks/sender.js';
export { eventTypeFor, merchantSessionView } from './merchant-webhooks/events.js';
export { orderVerdict } from './merchant-api.js';
export type { OrderVerdict } from './merchant-api.js';
export type {
  PaymentProvider,
  ProviderCapabilities,
  ProviderStatusResult,
  CreatePaymentInput,
  CreatedPayment,
  CallbackInput,
  ParsedCallback,
  VerifiedClaim,
  WebhookPathKind,
  CallbackReply,
} from './providers/types.js';
export type {
  ConfigView,
  CreatedSessionView,
  HeldReason,
  EventSource,
  MerchantEvent,
  MerchantEventType,
  MerchantSessionView,
  MethodId,
  ProviderConfigView,
  ProviderId,
  ResolveOrder,
  ResolveOrderContext,
  ResolvedOrder,
  ReturnOutcome,
  SessionStatus,
  SessionView,
} from './types.js';
