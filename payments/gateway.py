"""A client for Stripe's HTTP API (form-encoded /v1/..., bearer key) that works against any
Stripe-compatible server: Stripe itself, or localstripe in tests and the demo.

Only the subset that behaves the same on both is used: Customers, card PaymentIntents,
Refunds by PaymentIntent. VND is zero-decimal: amounts are whole đồng, never × 100. Every
create carries an Idempotency-Key that the caller stores and reuses on retry. Timeouts and a
bounded retry keep a dead gateway's answer under 15 seconds. No Flask, no database."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
RETRIES = 1


class GatewayError(Exception):
    """The gateway refused the request or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retryable: bool = False):
        super().__init__(message)
        self.status, self.code, self.retryable = status, code, retryable


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    currency: str
    metadata: dict = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> "PaymentIntent":
        error = data.get("last_payment_error") or {}
        return cls(id=data["id"], status=data["status"], amount=int(data["amount"]),
                   currency=data["currency"], metadata=dict(data.get("metadata") or {}),
                   error_code=error.get("code"), error_message=error.get("message"))


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    status: str
    payment_intent: str
    metadata: dict = field(default_factory=dict)
    created: int | None = None  # unix time at the gateway

    @classmethod
    def from_json(cls, data: dict, payment_intent: str = "") -> "Refund":
        created = data.get("created")
        return cls(id=data["id"], amount=int(data["amount"]), status=data["status"],
                   payment_intent=data.get("payment_intent") or payment_intent,
                   metadata=dict(data.get("metadata") or {}),
                   created=int(created) if created is not None else None)


def _form(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: metadata[k]=v, payment_method_types[]=card."""
    items: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if value is None:
            continue
        if isinstance(value, dict):
            items += _form(value, name)
        elif isinstance(value, (list, tuple)):
            items += [(f"{name}[]", str(v)) for v in value]
        elif isinstance(value, bool):
            items.append((name, "true" if value else "false"))
        else:
            items.append((name, str(value)))
    return items


class GatewayClient:
    def __init__(self, base_url: str, api_key: str, *, session: requests.Session | None = None,
                 retries: int = RETRIES, budget_seconds: float | None = None):
        """`budget_seconds` bounds all calls of this client together (a buyer's request may
        make two), so a slow gateway still gives the buyer an answer in time."""
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.http = session or requests.Session()
        self.retries = retries
        self.deadline = time.monotonic() + budget_seconds if budget_seconds else None

    def _timeouts(self) -> tuple[float, float]:
        if self.deadline is None:
            return CONNECT_TIMEOUT, READ_TIMEOUT
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            raise GatewayError("gateway too slow: time budget spent", retryable=True)
        return min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left)

    def _request(self, method: str, path: str, params: dict | None = None,
                 idempotency_key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = _form(params or {}) if method == "POST" else None
        query = _form(params or {}) if method == "GET" else None
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, self.base_url + path, data=data,
                                             params=query, headers=headers,
                                             timeout=self._timeouts())
            except requests.RequestException as e:
                if attempt < self.retries:
                    time.sleep(0.2)
                    continue
                raise GatewayError(f"gateway unreachable: {e}", retryable=True) from e
            if response.status_code >= 500 and attempt < self.retries:
                time.sleep(0.2)
                continue
            return self._decode(response)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            error = body.get("error") or {}
            raise GatewayError(error.get("message") or f"HTTP {response.status_code}",
                               status=response.status_code, code=error.get("code"),
                               retryable=response.status_code >= 500)
        return body

    def create_customer(self, *, name: str, email: str | None = None,
                        metadata: dict | None = None, idempotency_key: str) -> str:
        data = self._request("POST", "/v1/customers",
                             {"name": name, "email": email, "metadata": metadata},
                             idempotency_key)
        return data["id"]

    def create_card_customer(self, *, token: str, name: str, idempotency_key: str,
                             metadata: dict | None = None) -> tuple[str, str]:
        """A customer holding the card of a Stripe.js token (tok_...): returns the customer id
        and the card's id, which a PaymentIntent takes as its payment method. The card
        number itself never passes through ocopkit."""
        data = self._request("POST", "/v1/customers",
                             {"name": name, "source": token, "metadata": metadata},
                             idempotency_key)
        if not data.get("default_source"):
            raise GatewayError("the card was not attached", status=402)
        source = data["default_source"]
        return data["id"], source["id"] if isinstance(source, dict) else source

    def create_payment_intent(self, *, amount_vnd: int, idempotency_key: str,
                              metadata: dict | None = None, payment_method: str | None = None,
                              customer: str | None = None,
                              confirm: bool = False) -> PaymentIntent:
        if not isinstance(amount_vnd, int) or amount_vnd <= 0:
            raise ValueError("amount_vnd must be a positive int")
        params = {"amount": amount_vnd, "currency": "vnd", "payment_method_types": ["card"],
                  "metadata": metadata, "payment_method": payment_method,
                  "customer": customer, "confirm": True if confirm else None}
        return PaymentIntent.from_json(
            self._request("POST", "/v1/payment_intents", params, idempotency_key))

    def confirm_payment_intent(self, intent_id: str) -> PaymentIntent:
        return PaymentIntent.from_json(
            self._request("POST", f"/v1/payment_intents/{intent_id}/confirm"))

    def cancel_payment_intent(self, intent_id: str) -> PaymentIntent:
        return PaymentIntent.from_json(
            self._request("POST", f"/v1/payment_intents/{intent_id}/cancel"))

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntent:
        return PaymentIntent.from_json(self._request("GET", f"/v1/payment_intents/{intent_id}"))

    def list_payment_intents(self, *, max_pages: int) -> list[PaymentIntent]:
        """Every PaymentIntent the gateway holds, paged by `starting_after` (the one list
        Stripe and localstripe share: localstripe refuses the `created` filter and has no
        search). Raises GatewayError if there are more than `max_pages` pages of 100: a
        partial list cannot say that something is absent."""
        intents: list[PaymentIntent] = []
        params: dict = {"limit": 100}
        for _page in range(max_pages):
            data = self._request("GET", "/v1/payment_intents", params)
            page = [PaymentIntent.from_json(item) for item in data.get("data", [])]
            intents += page
            if not data.get("has_more") or not page:
                return intents
            params["starting_after"] = page[-1].id
        raise GatewayError(f"more than {max_pages * 100} PaymentIntents to look through")

    def create_refund(self, *, payment_intent: str, amount_vnd: int, idempotency_key: str,
                      metadata: dict | None = None) -> Refund:
        data = self._request("POST", "/v1/refunds",
                             {"payment_intent": payment_intent, "amount": amount_vnd,
                              "metadata": metadata}, idempotency_key)
        return Refund.from_json(data, payment_intent)

    def retrieve_refund(self, refund_id: str) -> Refund:
        return Refund.from_json(self._request("GET", f"/v1/refunds/{refund_id}"))

    def list_refunds(self, *, payment_intent: str) -> list[Refund]:
        """The refunds the gateway holds for a PaymentIntent (the truth when an answer
        was lost)."""
        data = self._request("GET", "/v1/refunds", {"payment_intent": payment_intent,
                                                    "limit": 100})
        return [Refund.from_json(r, payment_intent) for r in data.get("data", [])]
