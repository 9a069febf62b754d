"""URLconf of the load benchmark's server: the portal's routes plus the floor, a bare
Django view that reads one row through the same stack (middleware, session and sign-in,
the account context, PostgreSQL). It exists only here, never in oms.urls."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.urls import include, path

from catalog.models import Product


@login_required
def floor(request):
    row = Product.objects.filter(account=request.account).order_by("pk").values("pk", "sku", "name").first()
    if row is None:
        raise Http404("No product.")
    return JsonResponse(row)


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("oms.urls")),
]
