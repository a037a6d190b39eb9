"""Settings of a minimal Django project: one view, no database, no apps."""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "not-a-secret-example-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "false").lower() == "true"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "hello_django.urls"
WSGI_APPLICATION = "hello_django.wsgi.application"
DATABASES = {}
USE_TZ = True
