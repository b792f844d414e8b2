"""Gateway client, linked payment accounts, transactions and webhooks."""
