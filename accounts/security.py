def axes_username(request, credentials=None):
    """The email a sign-in attempt names, lower-cased so TARO@ and taro@ share one lockout."""
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        value = source.get("username") or source.get("email")
        if value:
            return str(value).strip().lower()
    return None
