"""URLs of the demo and test project: the API under /api/, the demo page at /."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("django_datastream.urls")),
    path("", include("django_datastream.demo.urls")),
]
