"""User accounts of the billing app."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class User:
    id: int
    email: str
    first_name: str
    last_name: str
    roles: list[str] = field(default_factory=list)
    last_login_at: datetime | None = None

    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def is_admin(self) -> bool:
        return "admin" in self.roles

    def is_active(self, now: datetime | None = None, days: int = 90) -> bool:
        if self.last_login_at is None:
            return False
        now = now or datetime.now()
        return now - self.last_login_at <= timedelta(days=days)


def find_user(users: list[User], email: str) -> User | None:
    for user in users:
        if user.email.lower() == email.lower():
            return user
    return None
