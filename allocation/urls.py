from django.urls import path

from allocation import views

urlpatterns = [
    path("facilities/", views.FacilityListView.as_view(), name="facility_list"),
    path("facilities/<int:pk>/", views.FacilityDetailView.as_view(), name="facility_detail"),
    path("organisations/<int:pk>/import/", views.FacilityDataImportView.as_view(), name="facility_import"),
    path("organisations/<int:pk>/allocation/<int:fiscal_year>/", views.EntityAllocationView.as_view(),
         name="entity_allocation"),
]
