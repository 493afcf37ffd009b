"""Keep ``Source.updated_at`` moving whenever anything shown in a source panel changes.

The workspace caches each source's rendered panel under its ``updated_at``
(``analysis.classwork.panels``). Saving the source itself bumps it (``auto_now``); these receivers bump it
when one of its passages or glossary terms is saved or deleted, however that happens (the admin's
inlines, a source-pack import, the shell).
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from analysis.models import GlossaryTerm, Passage, Region, Source


@receiver(post_save, sender=Region, dispatch_uid="region-saved-touches-source")
@receiver(post_delete, sender=Region, dispatch_uid="region-deleted-touches-source")
@receiver(post_save, sender=Passage, dispatch_uid="passage-saved-touches-source")
@receiver(post_delete, sender=Passage, dispatch_uid="passage-deleted-touches-source")
@receiver(post_save, sender=GlossaryTerm, dispatch_uid="term-saved-touches-source")
@receiver(post_delete, sender=GlossaryTerm, dispatch_uid="term-deleted-touches-source")
def touch_source(sender, instance, raw=False, **kwargs):
    if raw:  # loaddata: the fixture carries its own timestamps
        return
    Source.objects.filter(pk=instance.source_id).update(updated_at=timezone.now())
