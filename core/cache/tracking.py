"""What changes the data: model signals and querysets bump their models' scopes."""

from __future__ import annotations

from django.db import models
from django.db.models.signals import post_delete, post_save

from core import cache  # the package: bump is looked up when a row changes
from core.cache.scopes import unknown_scopes

_tracked: dict[type[models.Model], tuple[str, ...]] = {}


def track(
    model: type[models.Model],
    *scopes: str,
    saves: bool = True,
    row_deletes: bool = True,
) -> None:
    """Bump ``scopes`` whenever a row of ``model`` is saved or deleted.

    ``saves=False`` where a saved row changes no answer until a service says so (an
    import run counts once it has finished: the importer bumps then).
    ``row_deletes=False`` for big tables: no post_delete receiver (its presence makes
    Django fetch every row of a queryset delete or cascade to send it); their
    deletes are seen by TrackedQuerySet.delete and by the tracked parent a cascade
    comes from.
    """
    if not scopes or unknown_scopes(scopes):
        raise ValueError(f"track({model.__name__}) needs known scopes, got {scopes}")
    _tracked[model] = scopes

    def changed(sender, **kwargs) -> None:
        cache.bump(*scopes)

    uid = f"core.cache:{model._meta.label}"
    if saves:
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid + ":save")
    if row_deletes:
        post_delete.connect(
            changed, sender=model, weak=False, dispatch_uid=uid + ":delete"
        )


def scopes_of(model: type[models.Model]) -> tuple[str, ...]:
    return _tracked.get(model._meta.concrete_model, ())


class TrackedQuerySet(models.QuerySet):
    """A queryset whose writes without signals bump the model's tracked scopes."""

    def _changed(self) -> None:
        scopes = scopes_of(self.model)
        if scopes:
            cache.bump(*scopes)

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows:
            self._changed()
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._changed()
        return created

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        if rows:
            self._changed()
        return rows

    def delete(self):
        deleted = super().delete()
        if deleted[0]:
            self._changed()
        return deleted

    delete.alters_data = True
    delete.queryset_only = True
    update.alters_data = True
