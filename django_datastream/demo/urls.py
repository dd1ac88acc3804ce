"""URL patterns of the demo page; a project includes them where the page should live::

path("", include("django_datastream.demo.urls")),
"""

from django.urls import path

from .views import demo_page

urlpatterns = [
    path("", demo_page, name="datastream-demo"),
]
