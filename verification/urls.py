from django.urls import path

from verification import views

urlpatterns = [
    path("verification-bodies/", views.BodyListView.as_view(), name="verification_body_list"),
    path("verification-bodies/<int:pk>/certificate.pdf", views.BodyCertificateView.as_view(),
         name="verification_body_certificate"),
    path("organisations/<int:pk>/registration/", views.BodyRegistrationView.as_view(), name="body_registration"),
    path("verification/evidence/<int:pk>/", views.EvidenceDownloadView.as_view(), name="evidence_download"),
    path("verification/applications/", views.ApplicationQueueView.as_view(), name="body_application_queue"),
    path("verification/applications/<int:pk>/", views.ApplicationReviewView.as_view(),
         name="body_application_review"),
    path("verification/bodies/<int:pk>/<str:action>/", views.BodyStateView.as_view(), name="verification_body_state"),
    path("verification/oversight/", views.OversightView.as_view(), name="verification_oversight"),
    path("verification/coverage/<int:fiscal_year>/", views.CoverageView.as_view(), name="coverage"),
    path("verification/emission-factors/<int:fiscal_year>/", views.EmissionFactorView.as_view(),
         name="emission_factors"),
    path("organisations/<int:pk>/emissions/<int:fiscal_year>/", views.EmissionsReportView.as_view(),
         name="emissions_report"),
    path("verification/engagements/", views.EngagementListView.as_view(), name="engagement_list"),
    path("verification/engagements/<int:pk>/", views.EngagementDetailView.as_view(), name="engagement_detail"),
]
