"""Read by `gunicorn wsgi:app` started from this folder: the access log keeps personal data
out (order references, phone numbers, staff pages' query strings; ocopkit.logs)."""
logger_class = "ocopkit.server.AccessLog"
