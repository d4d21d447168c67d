from django.urls import path

from market import operator_views, views

urlpatterns = [
    path("market/", views.InstrumentListView.as_view(), name="market_instruments"),
    path("market/operator/", operator_views.OperatorView.as_view(), name="market_operator"),
    path("market/<str:code>/", views.InstrumentView.as_view(), name="market_instrument"),
    path("market/<str:code>/book/", views.BookFragmentView.as_view(), name="market_book"),
    path("market/<str:code>/prices/", views.PricesView.as_view(), name="market_prices"),
]
