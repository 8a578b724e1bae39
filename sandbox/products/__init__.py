"""Products (产品) and their category tree: the class catalogue, maintained by instructors."""

from flask import Blueprint

bp = Blueprint("products", __name__, url_prefix="/products")

from . import categories, routes  # noqa: E402,F401
