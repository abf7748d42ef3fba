"""Extensions created unbound here and bound to an application in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect


def _no_default_key() -> str:
    # Every limit names its own key (an account, or a keyed hash of the address held only in
    # the limiter's storage); nothing falls back to the raw client address.
    return "global"


csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=_no_default_key, headers_enabled=True)
