from market.models.orders import Order, Trade  # noqa: F401
from market.models.participants import Instrument, InstrumentParameters, Participant  # noqa: F401
