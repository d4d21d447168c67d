from market.models.auctions import AuctionOffer, ReverseAuction  # noqa: F401
from market.models.orders import Order, Trade  # noqa: F401
from market.models.participants import Instrument, InstrumentParameters, Participant  # noqa: F401
from market.models.surveillance import Alert, InsiderList, InsiderListMember, SurveillanceParameters  # noqa: F401,E501
