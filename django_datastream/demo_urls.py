"""URL patterns of the demo page; a project includes them where the page should live::

path("", include("django_datastream.demo_urls")),
"""

from django.urls import path

from django_datastream.demo.views import demo_page

urlpatterns = [
    path("", demo_page, name="datastream-demo"),
]
