from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("two-factor/enrol/", views.OTPEnrolView.as_view(), name="otp_enrol"),
    path("two-factor/verify/", views.OTPVerifyView.as_view(), name="otp_verify"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("organisations/<int:pk>/", views.OrganisationDetailView.as_view(), name="organisation_detail"),
    path("holding-accounts/<int:pk>/", views.HoldingAccountDetailView.as_view(), name="holding_account_detail"),
    path("holding-accounts/<int:pk>/transactions/", views.HoldingAccountHistoryView.as_view(),
         name="holding_account_history"),
]
