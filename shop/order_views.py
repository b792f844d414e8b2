"""Cart, checkout and order management pages."""
from flask import Blueprint

bp = Blueprint("orders", __name__)
