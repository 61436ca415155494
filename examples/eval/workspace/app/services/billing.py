"""Invoice totals and charging."""
from decimal import Decimal, ROUND_HALF_UP

from app.models.user import User, find_user


def compute_total(items: list[dict], tax_rate: Decimal = Decimal("0.19")) -> Decimal:
    subtotal = Decimal("0")
    for item in items:
        price = Decimal(str(item["unit_price"]))
        qty = int(item.get("quantity", 1))
        if qty <= 0:
            raise ValueError(f"bad quantity for {item.get('sku')}")
        discount = Decimal(str(item.get("discount", 0)))
        if discount:
            price = price * (1 - discount)
        subtotal += price * qty
    total = subtotal * (1 + tax_rate)
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def charge(user: User, items: list[dict]) -> dict:
    if not user.is_active():
        raise PermissionError(f"{user.full_name()} is not active")
    total = compute_total(items)
    return {"user": user.email, "total": str(total), "currency": "EUR"}


def charge_by_email(users: list[User], email: str, items: list[dict]) -> dict:
    user = find_user(users, email)
    if user is None:
        raise KeyError(email)
    return charge(user, items)
