#!/usr/bin/env python3
"""A shop backend in plain Python (standard library only) that integrates pay-checkout without JavaScript.

The pay-checkout helper runs as a service (`npm run server`) with

    ORDER_RESOLVE_URL=http://127.0.0.1:8000/pay-checkout/order
    MERCHANT_WEBHOOK_URL=http://127.0.0.1:8000/pay-checkout/webhooks
    MERCHANT_WEBHOOK_SECRET=whsec_...            (the same value here and there)
    MERCHANT_API_KEY=...                          (the same value here and there)

and this program, told where the helper is (PAY_CHECKOUT_URL=http://127.0.0.1:8787/api/checkout),

  * answers the helper's order lookups: POST /pay-checkout/order {"orderId", "claimedCustomerId", "locale"}
    -> 200 {"amount": "1500.00", "currency": "RUB", ...} or 404. The price comes from here, never from the browser;
  * receives the merchant webhooks: POST /pay-checkout/webhooks {"id", "type", "createdAt", "data": {...}},
    deduplicated by webhook-id, and marks its own orders paid / held / refunded; for an event its own state cannot
    place (a redelivered one, a second payment of an order it never saw paid) it takes the helper's verdict from its
    merchant API, GET /merchant/orders/:orderId, or holds the order for a person;
  * shows its orders: GET /orders, GET /orders/<id> (JSON; a real shop puts these behind its own login).

Both POST routes verify the Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature) with
hmac / hashlib / base64, a 5-minute timestamp tolerance and a constant-time comparison. With pip available, the
`standardwebhooks` package does the same: `Webhook(secret).verify(body, headers)`.

Run:  MERCHANT_WEBHOOK_SECRET=whsec_... python3 merchant.py
      (a comma list whsec_new,whsec_old during a rotation; PAY_CHECKOUT_URL, MERCHANT_API_KEY, HOST, PORT, MERCHANT_DB:
      see README.md)
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sqlite3
import sys
import threading
import time
import urllib.request
from contextlib import closing
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 1024 * 1024
SECRET_PREFIX = "whsec_"

# The shop's catalogue of open orders, inserted into an empty database on first start.
SAMPLE_ORDERS = [
    {"id": "A-1001", "amount": "1500.00", "currency": "RUB", "description": "Samovar, 3 l", "customer_id": "customer-1"},
    {"id": "A-1002", "amount": "650.00", "currency": "RUB", "description": "Ivan-chai, 200 g", "customer_id": "customer-2"},
    {"id": "A-1003", "amount": "2500.00", "currency": "RUB", "description": "Pavlovo Posad shawl", "customer_id": None},
    {"id": "A-1004", "amount": "990.50", "currency": "RUB", "description": "Altai honey, 500 g", "customer_id": None},
    {"id": "A-1005", "amount": "1250.00", "currency": "RUB", "description": "Matryoshka", "customer_id": None},
    {"id": "A-1006", "amount": "1890.00", "currency": "RUB", "description": "Birch-bark box", "customer_id": None},
    {"id": "A-1007", "amount": "3400.00", "currency": "RUB", "description": "Felt boots", "customer_id": None},
]


# --- Standard Webhooks verification -----------------------------------------------------------------------------


class VerificationError(Exception):
    pass


def decode_secrets(value):
    """MERCHANT_WEBHOOK_SECRET -> the HMAC keys: one whsec_<base64> secret, or a comma list during a rotation."""
    return [decode_secret(secret.strip()) for secret in value.split(",")]


def decode_secret(secret):
    """whsec_<base64> -> the HMAC key bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("MERCHANT_WEBHOOK_SECRET must start with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error as error:
        raise ValueError("MERCHANT_WEBHOOK_SECRET: the part after whsec_ is not base64") from error
    if len(key) < 24:
        raise ValueError("MERCHANT_WEBHOOK_SECRET is too short (at least 24 random bytes)")
    return key


def verify(keys, headers, body, now=None):
    """Checks a Standard Webhooks signature over the raw body bytes with any of the keys; returns the webhook-id.

    headers: a mapping with case-insensitive .get() (http.server's message object is one).
    """
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp):
        raise VerificationError("invalid webhook-timestamp")
    sent_at = int(timestamp)
    now = int(time.time()) if now is None else now
    # A captured request cannot be replayed later than this.
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise VerificationError("webhook-timestamp is outside the 5-minute tolerance")
    signed = f"{msg_id}.{sent_at}.".encode() + body
    expected = [base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in keys]
    # Several space-separated signatures appear while the sender rotates its secret, and this shop may know several
    # secrets while it does: any v1 match of any key is enough.
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(signature.encode(), good) for good in expected):
            return msg_id
    raise VerificationError("no matching signature")


# --- The helper's merchant API -------------------------------------------------------------------------------------


def merchant_api(method, path, body=None):
    """Calls the helper's merchant API, PAY_CHECKOUT_URL + "/merchant" + path, with MERCHANT_API_KEY; returns the JSON
    answer. A 4xx/5xx raises urllib.error.HTTPError (401: wrong key; 404: unknown, or no MERCHANT_API_KEY at the helper).
    """
    request = urllib.request.Request(
        os.environ["PAY_CHECKOUT_URL"].rstrip("/") + "/merchant" + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        # The helper answers a POST without this header 415.
        headers={"Authorization": "Bearer " + os.environ["MERCHANT_API_KEY"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def helper_verdict(order_id):
    """The helper's answer for an order ({"verdict": "paid" | "held" | "open" | "unpaid", "sessions"}), or None."""
    if not os.environ.get("PAY_CHECKOUT_URL") or not os.environ.get("MERCHANT_API_KEY"):
        return None
    try:
        answer = merchant_api("GET", "/orders/" + quote(order_id, safe=""))
    except (OSError, ValueError) as error:  # urllib's errors are OSErrors; ValueError: not JSON
        sys.stderr.write(f"[merchant] GET /merchant/orders/{order_id} failed: {error}\n")
        return None
    return answer if isinstance(answer, dict) and isinstance(answer.get("sessions"), list) else None


# --- The shop's own orders ----------------------------------------------------------------------------------------


class Shop:
    def __init__(self, path):
        self.path = path
        # One writer at a time: webhook handling reads, checks and writes in one transaction.
        self.lock = threading.Lock()
        with closing(self.connect()) as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS orders (
                  id TEXT PRIMARY KEY,
                  amount TEXT NOT NULL,
                  currency TEXT NOT NULL,
                  description TEXT,
                  customer_id TEXT,
                  status TEXT NOT NULL DEFAULT 'unpaid',   -- unpaid | paid | held | refunded
                  session_id TEXT,                          -- the helper session behind the status
                  needs_refund INTEGER NOT NULL DEFAULT 0,  -- paid twice: a person refunds one payment
                  note TEXT,
                  updated_at TEXT
                );
                CREATE TABLE IF NOT EXISTS webhook_messages (
                  webhook_id TEXT PRIMARY KEY,
                  type TEXT NOT NULL,
                  received_at TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS order_events (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  order_id TEXT NOT NULL,
                  webhook_id TEXT NOT NULL,
                  type TEXT NOT NULL,
                  session_id TEXT,
                  from_status TEXT,
                  to_status TEXT,
                  at TEXT NOT NULL
                );
                """
            )
            if db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0:
                db.executemany(
                    "INSERT INTO orders (id, amount, currency, description, customer_id) VALUES (?, ?, ?, ?, ?)",
                    [(o["id"], o["amount"], o["currency"], o["description"], o["customer_id"]) for o in SAMPLE_ORDERS],
                )

    def connect(self):
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def order(self, order_id):
        with closing(self.connect()) as db:
            row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                return None
            events = db.execute(
                "SELECT webhook_id, type, session_id, from_status, to_status, at FROM order_events WHERE order_id = ? ORDER BY seq",
                (order_id,),
            ).fetchall()
            return {**dict(row), "needs_refund": bool(row["needs_refund"]), "events": [dict(e) for e in events]}

    def orders(self):
        with closing(self.connect()) as db:
            return [dict(row) for row in db.execute("SELECT * FROM orders ORDER BY id")]

    def apply(self, webhook_id, event):
        """Applies one verified webhook exactly once. Returns (applied, detail)."""
        kind = event.get("type")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        session = data.get("session") if isinstance(data.get("session"), dict) else {}
        order_id = session.get("orderId")
        if not isinstance(kind, str):
            raise ValueError("the event has no type")
        # An event this shop may not be able to place by its own state: the helper's verdict is fetched first, outside
        # the lock (a network call), and used below if the order's state calls for it.
        verdict = None
        if isinstance(order_id, str) and (data.get("redelivered") is True or kind == "order.paid_twice"):
            verdict = helper_verdict(order_id)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.lock:
            db = self.connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                # The dedupe row is written in the same transaction as the order change: a retry after a crash
                # either finds both or neither.
                if db.execute("SELECT 1 FROM webhook_messages WHERE webhook_id = ?", (webhook_id,)).fetchone():
                    db.execute("ROLLBACK")
                    return False, "duplicate"
                db.execute("INSERT INTO webhook_messages (webhook_id, type, received_at) VALUES (?, ?, ?)", (webhook_id, kind, now))
                if not isinstance(order_id, str):
                    # A type this shop does not know may be about no order: acknowledged, so the helper stops retrying.
                    db.execute("COMMIT")
                    return False, "no order"
                order = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
                if order is None:
                    # Not ours (another shop on the same helper?): acknowledged, so the helper stops retrying.
                    db.execute("COMMIT")
                    return False, "unknown order"
                if data.get("redelivered") is True or (kind == "order.paid_twice" and order["status"] != "paid"):
                    # Sent again because a person asked, although later events of the order exist; or a second payment
                    # of an order this shop never saw paid. Either way its own state may lack events that failed for
                    # good while it was down (an old payment.paid after a refund must not ship the order again, and
                    # a missed one must not leave a paid order unpaid): the helper's verdict decides.
                    status, session_id, note, needs_refund = checked_state(order, kind, verdict)
                else:
                    status, session_id, note, needs_refund = next_state(order, kind, session, data.get("reason"), second_payments(db, order_id))
                db.execute(
                    "UPDATE orders SET status = ?, session_id = ?, note = ?, needs_refund = ?, updated_at = ? WHERE id = ?",
                    (status, session_id, note, needs_refund, now, order_id),
                )
                db.execute(
                    "INSERT INTO order_events (order_id, webhook_id, type, session_id, from_status, to_status, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (order_id, webhook_id, kind, session.get("id"), order["status"], status, now),
                )
                db.execute("COMMIT")
                return True, status
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.close()


# The events after which a payment keeps none of the payer's money at pay-checkout.
ENDED = ("payment.refunded", "payment.failed", "payment.cancelled", "payment.expired")


def second_payments(db, order_id):
    """The order's second payments still held at pay-checkout, oldest first: each session told as order.paid_twice and
    not ended (ENDED) since. Not only the latest: an order can be paid three times, and each payment beyond the one
    that counts is refunded on its own. Read from the events already recorded, so old databases need no migration.
    """
    rows = db.execute(
        """
        SELECT twice.session_id FROM order_events AS twice
        WHERE twice.order_id = ? AND twice.type = 'order.paid_twice' AND NOT EXISTS (
          SELECT 1 FROM order_events AS ended
          WHERE ended.order_id = twice.order_id AND ended.session_id = twice.session_id AND ended.seq > twice.seq
            AND ended.type IN ('payment.refunded', 'payment.failed', 'payment.cancelled', 'payment.expired'))
        GROUP BY twice.session_id ORDER BY MIN(twice.seq)
        """,
        (order_id,),
    )
    return [row[0] for row in rows]


def same_amount(a, b):
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return False


def next_state(order, kind, session, reason=None, second_payments=()):
    """The shop's order after an event: (status, session_id, note, needs_refund).

    session_id: the helper session behind the status. reason: the event's data.reason; "manual" is a person's
    resolution of a held payment at pay-checkout. second_payments: the order's second payments still held at
    pay-checkout, oldest first (see second_payments()).
    """
    status, ours, note, needs_refund = order["status"], order["session_id"], order["note"], order["needs_refund"]
    this_session = session.get("id")
    # The second payments that will still be there after this event: neither this event's session nor the order's own.
    others = [second for second in second_payments if second not in (this_session, ours)]
    # payment.reinstated: a payment already paid once is good again after a hold (a dispute won); back to paid,
    # and a shop that ships on its first "paid" ships nothing more.
    if kind in ("payment.paid", "payment.revived", "payment.reinstated"):
        if status == "paid" and ours != this_session:
            return status, ours, "a second payment arrived: refund one", 1
        paid = session.get("paidAmount")
        if paid is None:  # null until a provider reports what was paid
            paid = session.get("amount")
        matches = session.get("currency") == order["currency"] and same_amount(paid, order["amount"])
        if reason == "manual":
            # A person looked at the held payment and accepted it (POST /merchant/sessions/:id/resolve): their
            # decision, whatever was paid. Checking the amount again would hold the order a second time.
            if matches:
                return "paid", this_session, None, needs_refund
            return "paid", this_session, f"accepted by a person at pay-checkout: paid {paid} {session.get('currency')}, order is {order['amount']} {order['currency']}", needs_refund
        # Trust, but check: the helper already holds a payment whose amount differs from the order's.
        if not matches:
            return "held", this_session, f"paid {paid} {session.get('currency')}, order is {order['amount']} {order['currency']}", needs_refund
        return "paid", this_session, None, needs_refund
    if kind == "payment.held":
        if status == "paid" and ours != this_session:
            return status, ours, "another payment of this paid order is held", needs_refund
        return "held", this_session, "the payment is under review at pay-checkout", needs_refund
    if kind in ENDED:
        ended = "was refunded" if kind == "payment.refunded" else kind.split(".")[1]
        if ours == this_session and status in ("paid", "held"):
            if others:
                # The order's payment went back, or ended failed (a dispute lost), while a second payment is held at
                # pay-checkout: that one counts now, and turns paid on the status read this makes due at the helper
                # (payment.paid or payment.reinstated: ship then). Meanwhile neither "refunded" nor "unpaid", so
                # nothing is restocked or cancelled for a passing state and nobody asks the payer to pay again. And it
                # is no longer one to refund: only the ones beyond it are.
                return "held", others[0], f"the payment {this_session} {ended}; the second payment {others[0]} is held at pay-checkout and counts now", 1 if len(others) > 1 else 0
            # Refunded: cancel what this payment paid for. Failed (a held payment a person settled as failed, a
            # dispute lost): the order can be paid again. No other payment holds money: nothing to refund.
            return ("refunded" if kind == "payment.refunded" else "unpaid"), this_session, None, 0
        if this_session in second_payments:
            # A second payment ended without money kept: the order stays paid by its own session. With no other second
            # payment left, nobody must refund (a person who still did would refund the payment that pays the order).
            if others:
                return status, ours, f"paid more than twice: the payment {this_session} {ended}; still to refund: {', '.join(others)}", 1
            return status, ours, f"paid twice: the other payment ({this_session}) {ended}, nothing to refund", 0
        return status, ours, note, needs_refund
    if kind == "order.paid_twice":
        return status, ours, "paid twice: refund one payment", 1
    # An event type this shop does not know yet: acknowledged and recorded, nothing changes.
    return status, ours, note, needs_refund


def checked_state(order, kind, verdict):
    """The shop's order, (status, session_id, note, needs_refund), after an event its own state cannot place: from the
    helper's verdict (GET /merchant/orders/:orderId), or held for a person when there is none.
    """
    status, ours = order["status"], order["session_id"]
    if verdict is None:
        # Nobody to ask: a person looks (a paid order stays paid, so nothing is sold or shipped twice).
        needs_refund = 1 if kind == "order.paid_twice" else order["needs_refund"]
        note = f"check this order at pay-checkout: {kind} arrived, and this shop may have missed events of the order"
        return (status if status == "paid" else "held"), ours, note, needs_refund
    sessions = [entry for entry in verdict["sessions"] if isinstance(entry, dict)]  # newest first
    paid = [entry.get("id") for entry in sessions if entry.get("status") == "paid"]
    held = [entry for entry in sessions if entry.get("status") == "held"]
    second = [entry for entry in held if entry.get("errorCode") == "duplicate_payment"]
    # A refund is owed while the helper has two payments of the order: two paid, or a second payment held beside
    # another one — paid, under review (a dispute that may yet end in its favour), or another second payment. A
    # second payment alone is the order's only one (its payment was refunded): it counts now, nothing to refund.
    needs_refund = 1 if len(paid) > 1 or (second and len(paid) + len(held) > 1) else 0
    note = "paid twice: refund one payment" if needs_refund else None
    if verdict.get("verdict") == "paid":
        # Paid on the helper's paying session; an order shipped already (paid here) ships nothing more.
        return "paid", paid[0], note, needs_refund
    if verdict.get("verdict") == "held":
        # The order's own payment under review rather than a second payment held beside it, if there is one.
        held.sort(key=lambda entry: entry.get("errorCode") == "duplicate_payment")
        return "held", held[0].get("id") if held else ours, "a payment is under review at pay-checkout", needs_refund
    # open or unpaid: nothing is paid at pay-checkout now (a refund or a failure this shop never heard of).
    if status in ("paid", "held"):
        refunded = any(entry.get("status") == "refunded" for entry in sessions)
        return ("refunded" if refunded else "unpaid"), ours, "not paid at pay-checkout (its merchant API says so)", 0
    return status, ours, order["note"], 0


# --- HTTP ---------------------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "python-merchant/1"
    shop = None  # set in main()
    keys = []

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        if os.environ.get("MERCHANT_QUIET") != "1":
            sys.stderr.write("[merchant] %s - %s\n" % (self.address_string(), format % args))

    def send_json(self, status, body):
        text = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(text)

    def read_verified_json(self):
        """The body, verified and parsed; None after answering an error."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.send_json(HTTPStatus.LENGTH_REQUIRED if length is None else HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "bad length"})
            return None, None
        body = self.rfile.read(int(length))
        try:
            webhook_id = verify(self.keys, self.headers, body)
        except VerificationError as error:
            # Nothing of an unverified request is used, not even to say what was wrong with it.
            self.log_message("refused: %s", error)
            self.send_json(HTTPStatus.UNAUTHORIZED, {"error": "invalid signature"})
            return None, None
        try:
            payload = json.loads(body)
        except ValueError:
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": "invalid json"})
            return None, None
        if not isinstance(payload, dict):
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": "not an object"})
            return None, None
        return webhook_id, payload

    def do_POST(self):  # noqa: N802 - the stdlib's name
        if self.path == "/pay-checkout/order":
            self.resolve_order()
        elif self.path == "/pay-checkout/webhooks":
            self.receive_webhook()
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_GET(self):  # noqa: N802
        if self.path == "/orders":
            self.send_json(HTTPStatus.OK, {"orders": self.shop.orders()})
            return
        match = re.fullmatch(r"/orders/([^/?#]{1,100})", self.path)
        order = self.shop.order(unquote(match.group(1))) if match else None
        if order is None:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        else:
            self.send_json(HTTPStatus.OK, order)

    def resolve_order(self):
        _, request = self.read_verified_json()
        if request is None:
            return
        order_id = request.get("orderId")
        order = self.shop.order(order_id) if isinstance(order_id, str) else None
        if order is None:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "unknown order"})
            return
        # With ORDER_RESOLVE_FORWARD_COOKIES=1 the payer's cookies arrive here (the signed body says so): an order of a
        # known customer is only sold to that customer's session, and a lookup without it is a stranger's (this
        # example's "login" is a plain cookie; use your real session). Without forwarding nobody's login is known.
        customer = self.cookie("shop_customer")
        if request.get("forwardsCookies") is True and order["customer_id"] not in (None, customer):
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "unknown order"})
            return
        answer = {"amount": order["amount"], "currency": order["currency"], "description": order["description"], "paid": order["status"] == "paid"}
        if order["customer_id"]:
            answer["customerId"] = order["customer_id"]
        self.send_json(HTTPStatus.OK, answer)

    def receive_webhook(self):
        webhook_id, event = self.read_verified_json()
        if event is None:
            return
        try:
            applied, detail = self.shop.apply(webhook_id, event)
        except ValueError as error:
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        # 2xx = delivered; the helper retries anything else with the same webhook-id.
        self.send_json(HTTPStatus.OK, {"received": webhook_id, "applied": applied, "detail": detail})

    def cookie(self, name):
        header = self.headers.get("Cookie")
        if not header:
            return None
        try:
            jar = SimpleCookie(header)
        except CookieError:
            return None
        return jar[name].value if name in jar else None


def main():
    secret = os.environ.get("MERCHANT_WEBHOOK_SECRET", "").strip()
    try:
        Handler.keys = decode_secrets(secret)
    except ValueError as error:
        sys.stderr.write(f"[merchant] {error}. Use the helper's MERCHANT_WEBHOOK_SECRET (whsec_..., or whsec_new,whsec_old).\n")
        sys.exit(2)
    Handler.shop = Shop(os.environ.get("MERCHANT_DB", "merchant.sqlite"))
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))), Handler)
    host, port = server.server_address[:2]
    print(f"merchant listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
