from django.urls import path

from market import operator_views, views

urlpatterns = [
    path("market/", views.InstrumentListView.as_view(), name="market_instruments"),
    path("market/operator/", operator_views.OperatorView.as_view(), name="market_operator"),
    path("market/operator/instruments/", operator_views.InstrumentsOperatorView.as_view(),
         name="market_operator_instruments"),
    path("market/operator/auctions/", operator_views.AuctionsOperatorView.as_view(), name="market_operator_auctions"),
    path("market/operator/surveillance/", operator_views.SurveillanceView.as_view(), name="market_surveillance"),
    path("market/auctions/", views.AuctionListView.as_view(), name="market_auctions"),
    path("market/auctions/<int:pk>/", views.AuctionView.as_view(), name="market_auction"),
    path("market/<str:code>/", views.InstrumentView.as_view(), name="market_instrument"),
    path("market/<str:code>/book/", views.BookFragmentView.as_view(), name="market_book"),
    path("market/<str:code>/prices/", views.PricesView.as_view(), name="market_prices"),
]
