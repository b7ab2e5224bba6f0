/**
 * The sandbox merchant accounts, shared by the sandbox (which checks requests against them) and by the helper's
 * default configuration (which signs with them when a provider has no real credentials). Like a provider's test
 * cabinet, `GET /sandbox/credentials` shows them: none of this is a secret.
 *
 * age.trading leaves its auth header, status path, callback body and statuses undocumented (docs/sandbox.md).
 * The sandbox implements the defaults below, and the helper's age.trading adapter uses the same defaults, each
 * overridable by configuration for the real service:
 *   - auth:     header `Authorization: Token <apiKey>`
 *   - create:   POST {base}/api/requests/create/                 → 202 { id, request_proprietary_id, … }
 *   - status:   GET  {base}/api/requests/{id}/                   → 200 { id, request_proprietary_id,
 *               merchant_request_id, initial_amount, amount, status, created, redirect_url, payment_method }
 *   - cancel:   POST {base}/api/requests/{id}/cancel/            → 200 { id, status: "CANCELLED" }
 *   - statuses: CREATED, PENDING, SUCCESS, FAILED, CANCELLED, EXPIRED
 *   - callback: POST JSON { id, request_proprietary_id, merchant_request_id, status, initial_amount, amount } to
 *               webhook_url, header `X-Signature: hex(hmac_sha256(callbackSecret, rawBody))`
 */
export const SANDBOX_ACCOUNTS = {
  repay: {
    cassaId: '836a9869-0598-4b75-81bc-f7a600b83a72',
    secretWord1: 'sandbox-repay-secret-word-1',
    secretWord2: 'sandbox-repay-secret-word-2',
    apiKey: 'sandbox-repay-api-key',
    /** Repay issues one payment_method_id per cashier and method. */
    methods: {
      sbp: 'aeba4e28-4d1e-4cfb-84b6-cdf0672c29f1',
      card: '5b0d8c62-0f7e-4d3b-9d0e-1b6f0c1f7a55',
    },
  },
  boxexchanger: {
    apiKey: 'sandbox-box-api-key',
    apiSecret: '97aab8410868ba7c1824f490999607c0ce46a3de',
    /** One route per payment method: RUB (SBP or card) in, the merchant's currency out. */
    routes: {
      sbp: '65f0c1a2b3c4d5e6f7a8b9c0',
      card: '65f0c1a2b3c4d5e6f7a8b9c1',
    },
    /** Field keys of the routes' forms (per route on a real deployment, from route/get/one). */
    fieldKeys: {
      fromAccount: '65f0c1a2b3c4d5e6f7a8b9d0',
      toAccount: '65f0c1a2b3c4d5e6f7a8b9d1',
      email: '65f0c1a2b3c4d5e6f7a8b9d2',
    },
    minAmount: 500,
    maxAmount: 300000,
    ipnHashField: 'hash',
  },
  agetrading: {
    apiKey: 'sandbox-agetrading-token',
    /**
     * A second merchant whose traffic the administrator switched off: creating a payment with this key answers
     * 400 `{"detail": "Administrator has disabled you."}` (status and cancel still work). The main key can be
     * switched off and on at runtime with `POST /sandbox/agetrading/_admin/disable` / `…/enable`.
     */
    disabledApiKey: 'sandbox-agetrading-disabled-token',
    authHeader: 'Authorization',
    authScheme: 'Token',
    callbackSecret: 'sandbox-agetrading-callback-secret',
    callbackSignatureHeader: 'X-Signature',
    /** payment_method integers; only 1 appears in the public docs. */
    methods: {
      sbp: 1,
      card: 2,
    },
  },
} as const;
