from django.urls import path

from allocation import plan_views, views

urlpatterns = [
    path("facilities/", views.FacilityListView.as_view(), name="facility_list"),
    path("facilities/<int:pk>/", views.FacilityDetailView.as_view(), name="facility_detail"),
    path("organisations/<int:pk>/import/", views.FacilityDataImportView.as_view(), name="facility_import"),
    path("organisations/<int:pk>/allocation/<int:fiscal_year>/", views.EntityAllocationView.as_view(),
         name="entity_allocation"),
    path("organisations/<int:pk>/allocation-application/<int:fiscal_year>/", views.AllocationApplicationView.as_view(),
         name="allocation_application"),
    path("allocation/periods/", views.CompliancePeriodListView.as_view(), name="compliance_period_list"),
    path("allocation/periods/<int:fiscal_year>/", views.CompliancePeriodEditView.as_view(),
         name="compliance_period_edit"),
    path("allocation/<int:fiscal_year>/", views.AllocationFiscalYearView.as_view(), name="allocation_fiscal_year"),
    path("allocation-notices/<int:pk>/", views.NoticeDownloadView.as_view(), name="notice_download"),
    path("notices/verify/", views.NoticeVerifyView.as_view(), name="notice_verify"),
    path("organisations/<int:pk>/transition-plan/<int:fiscal_year>/", plan_views.TransitionPlanView.as_view(),
         name="transition_plan"),
    path("allocation/transition-plans/", plan_views.PlanReviewQueueView.as_view(), name="plan_review_queue"),
    # Public: no sign-in
    path("transition-plans/", plan_views.PublicPlanListView.as_view(), name="public_plan_list"),
    path("transition-plans/<int:pk>/<int:fiscal_year>/", plan_views.PublicPlanView.as_view(), name="public_plan"),
    path("transition-plans/documents/<int:pk>/", plan_views.PlanDocumentView.as_view(), name="plan_document"),
    path("registry-report/entities/<int:pk>/", plan_views.PublicEntityReportView.as_view(),
         name="registry_report_entity"),
]
