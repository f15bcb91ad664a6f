"""Import and export from the console, with the services and file formats of the API (docs/api.md):

- export: `export_job_create` for a namespace (inventory or audit log, CSV or JSON), built by the same
  task as an API export; the file is downloaded from the export job's admin page;
- import: `import_run` into a namespace — first `mode=preview` (writes nothing, shows every row's
  outcome), then the same content imported for real on confirmation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ipam import exceptions
from ipam.models import ExportJob
from ipam.services import imports
from ipam.services.exports import export_job_create


def _owner(request: HttpRequest) -> Any:
    name = (request.POST.get("username") or "").strip()
    owner = get_user_model().objects.filter(username=name).first()
    if owner is None:
        raise exceptions.ValidationFailed(f"No user {name!r}.", details={"username": ["Pick an existing user."]})
    return owner


def _export(request: HttpRequest) -> str:
    owner = _owner(request)
    kind = request.POST.get("kind", ExportJob.Kind.EXPORT)
    params: dict[str, Any] = {"filters": {}} if kind == ExportJob.Kind.AUDIT_EXPORT else {"include_hierarchy": False, "filters": {}}
    job = export_job_create(actor=owner, kind=kind, format=request.POST.get("format", "csv"), params=params)
    return reverse("admin:ipam_exportjob_change", args=[job.pk])


def transfer_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": "Import and export",
        "opts": model_admin.model._meta,
    }
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "export":
                return HttpResponseRedirect(_export(request))
            if step in ("preview", "import"):
                owner = _owner(request)
                upload = request.FILES.get("file")
                content = upload.read(imports.max_bytes() + 1).decode("utf-8", "replace") if upload else request.POST.get("content", "")
                fmt = request.POST.get("format") or (
                    imports.format_from_name(upload.name or "", upload.content_type or "") if upload else ""
                )
                result = imports.import_run(
                    actor=owner,
                    content=content,
                    format=fmt,
                    mode="preview" if step == "preview" else "auto",
                    performed_by=request.user,  # the staff user is the audit actor, in the owner's namespace
                )
                context.update({"result": result, "owner": owner, "content": content, "format": fmt, "step": step})
                if step == "import":
                    messages.success(request, f"Imported into {owner.get_username()}'s namespace: {result.get('created', result)}.")
        except exceptions.ServiceError as exc:
            messages.error(request, f"Refused: {exc.message} {exc.details or ''}")
    return TemplateResponse(request, "admin/ipam/transfer.html", context)
