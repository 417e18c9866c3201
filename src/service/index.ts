// rxtrade/service (Node only): many pairs in one process, Prometheus metrics, JSON logs, /health,
// a dashboard with live events (Server-Sent Events) and drain routes.

// Service
export { startService } from "./service";
export type {
  Service,
  ServiceOptions,
  ServicePair,
  ServiceEvent,
  ServiceEnd,
  ServiceHealth,
  ServiceHttpOptions,
  PairSnapshot,
  PairStatus,
  HeldSignal,
} from "./serviceTypes";
export { drainOnSignals, type DrainOnSignalsOptions } from "./drainOnSignals";

// Events (what /api/events sends; what a listener of events$ can send on)
export { eventJson, type ServiceEventJson } from "./serviceEventJson";
export { EQUITY_POINTS } from "./equitySeries";

// Notifications (webhooks for events$)
export {
  webhookNotifier,
  WebhookNotifier,
  NOTICE_KINDS,
  type WebhookNotice,
  type WebhookOptions,
  type WebhookNotifierOptions,
  type WebhookStats,
  type NotifierContext,
} from "./notify";
export { parseWebhookUrl, redactUrl } from "./notifyUrl";

// Config
export {
  checkServiceFile,
  configProblems,
  describeProblem,
  duplicatePairProblems,
  ServiceConfigError,
  TICK_MS_RANGE,
  type ServiceFile,
  type ServiceFilePair,
  type ServiceFileProblem,
} from "./serviceFile";

// Metrics, logs, HTTP
export { ServiceMetrics, PairMetrics, POSITION_STATE, EXCHANGE_SAMPLE_MS, TICK_SAMPLE } from "./serviceMetrics";
export { serviceLogger, isLogLevel, LOG_LEVELS, type LogLevel, type ServiceLoggerOptions } from "./serviceLogger";
export { ServiceRouter, sendJson, send, listen, type Route, type RouteHandler, type ServiceServer } from "./serviceHttp";

// Exchanges and clocks (rxtrade run's `bundled` and --speed)
export { bundledExchange, bundledOffset, type BundledExchangeOptions } from "./bundledExchange";
export { pacedScheduler, type PacedScheduler, type PacedSchedulerOptions } from "../schedulers/pacedScheduler";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
