from market.models.participants import Instrument, InstrumentParameters, Participant  # noqa: F401
