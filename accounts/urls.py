from django.urls import path

from accounts import views
from accounts.compliance import views as compliance_views
from accounts.ledger import administration_views
from accounts.ledger import views as ledger_views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("two-factor/enrol/", views.OTPEnrolView.as_view(), name="otp_enrol"),
    path("two-factor/verify/", views.OTPVerifyView.as_view(), name="otp_verify"),
    path("api-tokens/", views.APITokenListView.as_view(), name="api_token_list"),
    path("registry-report/", compliance_views.RegistryReportView.as_view(), name="registry_report"),
    path("organisations/<int:pk>/", views.OrganisationDetailView.as_view(), name="organisation_detail"),
    path("organisations/<int:pk>/compliance/<int:fiscal_year>/", compliance_views.ComplianceView.as_view(),
         name="compliance"),
    path("holding-accounts/<int:pk>/", views.HoldingAccountDetailView.as_view(), name="holding_account_detail"),
    path("holding-accounts/<int:pk>/transactions/", views.HoldingAccountHistoryView.as_view(),
         name="holding_account_history"),
    path("holding-accounts/<int:pk>/statement.pdf", ledger_views.StatementView.as_view(),
         name="holding_account_statement"),
    path("holding-accounts/<int:pk>/transfers/", ledger_views.TransferListView.as_view(), name="transfer_list"),
    path("holding-accounts/<int:pk>/trusted-accounts/", ledger_views.TrustedAccountListView.as_view(),
         name="trusted_account_list"),
    path("transfers/<int:pk>/<slug:action>/", ledger_views.TransferDecisionView.as_view(), name="transfer_decision"),
    path("trusted-accounts/<int:pk>/<slug:action>/", ledger_views.TrustedAccountDecisionView.as_view(),
         name="trusted_account_decision"),
    # Registry administrators
    path("administration/search/", administration_views.RegistrySearchView.as_view(), name="registry_search"),
    path("administration/four-eyes/", administration_views.FourEyesQueueView.as_view(), name="four_eyes_queue"),
    path("administration/four-eyes/new/", administration_views.BookingRequestCreateView.as_view(),
         name="booking_request_new"),
    path("administration/four-eyes/<int:pk>/<slug:action>/", administration_views.BookingRequestDecisionView.as_view(),
         name="booking_request_decision"),
    path("administration/payments/<int:pk>/<slug:action>/",
         administration_views.UpperLimitPaymentDecisionView.as_view(), name="upper_limit_payment_decision"),
    path("administration/restrictions/", administration_views.RestrictionListView.as_view(),
         name="restriction_list"),
    path("administration/holding-accounts/<int:pk>/<slug:action>/",
         administration_views.HoldingAccountStateView.as_view(), name="holding_account_state"),
    path("administration/memberships/<int:pk>/<slug:action>/", administration_views.MembershipStateView.as_view(),
         name="membership_state"),
]
