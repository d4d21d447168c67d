"""Base classes for pages that act: one way to hand a form to a service and show its refusal.

A refusal (RegistryError) is shown at the field it names, or above the form, and the page answers 403
(who may act) or 400 (what was asked), so the URL permission matrix sees role regressions on acts too.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views import View

from gxregistry.access import access_object
from gxregistry.authorization import may
from gxregistry.errors import RegistryError


def add_refusal(form, refusal) -> None:
    """Show a service refusal (a RegistryError) on the field it names, or above the form."""
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, str(refusal.message))


class FormPageMixin:
    """A page that shows forms and, on POST, hands the named one to ``form_valid_<name>``."""

    forms: dict = {}

    def build_form(self, name, data=None):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        self.object = self.get_object() if hasattr(self, "get_object") else None
        name = request.POST.get("form")
        if name not in self.forms:
            raise Http404
        form = self.build_form(name, request.POST)
        status = 400
        if form.is_valid():
            try:
                response = getattr(self, f"form_valid_{name}")(form)
            except RegistryError as refusal:
                add_refusal(form, refusal)
                status = refusal.http_status  # 403 when the person may not do it, 400 for what they asked
            else:
                if response is not None:
                    return response
                return redirect(request.get_full_path())
        return self.render_to_response(self.get_context_data(**{f"{name}_form": form}), status=status)


class ObjectActionView(LoginRequiredMixin, View):
    """POST-only acts on one object. Done: back to the page the user came from, with a message. Refused:
    403 (the person may not) or 400 (the object's state or the input), with the reason and nothing changed."""

    model = None
    actions: dict = {}  # name -> method name on this view

    def post(self, request, pk, action):
        if action not in self.actions:
            raise Http404
        obj = self.get_object(pk)
        try:
            message = getattr(self, self.actions[action])(obj, request.POST)
        except RegistryError as refusal:
            return TemplateResponse(request, "refused.html", {
                "refusal": refusal, "status": refusal.http_status, "back_url": self.return_url(obj)},
                status=refusal.http_status)
        messages.success(request, message)
        return redirect(self.return_url(obj))

    def get_object(self, pk):
        return access_object(self.model.objects, self.request.user, pk=pk)


class AdministratorRequiredMixin(LoginRequiredMixin):
    """Registry administrators only (the global permissions their group holds); others get 403."""

    administrator_permission = "accounts.view_ledgertransaction"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may(request.user, self.administrator_permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
