"""URLs: one view on /."""
from django.http import HttpResponse
from django.urls import path


def index(request):
    return HttpResponse("Hello from a Django rock!\n", content_type="text/plain")


urlpatterns = [path("", index)]
