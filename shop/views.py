"""Buyer pages (home, booths, products, search) and the booth and product editor."""
from flask import Blueprint

bp = Blueprint("shop", __name__)
