"""A closed facility's date is entered as its last day of operation (issue 12): ``closed_on`` (the first day
not operating) becomes ``last_operating_day``, one day earlier. The audit trail is append-only and keeps
what was stored: its events before this migration hold the first day not operating."""

from datetime import timedelta

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


def to_last_operating_day(apps, schema_editor):
    Facility = apps.get_model("allocation", "Facility")
    for facility in Facility.objects.filter(last_operating_day__isnull=False):
        facility.last_operating_day -= timedelta(days=1)
        facility.save(update_fields=["last_operating_day"])


def to_first_day_closed(apps, schema_editor):
    Facility = apps.get_model("allocation", "Facility")
    for facility in Facility.objects.filter(last_operating_day__isnull=False):
        facility.last_operating_day += timedelta(days=1)
        facility.save(update_fields=["last_operating_day"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0019_allocation_return_route'),
        ('allocation', '0006_allocation_cycle'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='facility',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='facility',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='facility',
            name='delete_delete',
        ),
        migrations.RemoveConstraint(
            model_name='facility',
            name='facility_closed_after_opened',
        ),
        migrations.RenameField(model_name='facility', old_name='closed_on', new_name='last_operating_day'),
        migrations.RenameField(model_name='facilityhistory', old_name='closed_on', new_name='last_operating_day'),
        migrations.RunPython(to_last_operating_day, to_first_day_closed),
        migrations.AlterField(
            model_name='facility',
            name='last_operating_day',
            field=models.DateField(blank=True, help_text='For a closed facility: the last day it operated (the closure deduction counts the days after it).', null=True, verbose_name='last day of operation'),
        ),
        migrations.AlterField(
            model_name='facilityhistory',
            name='last_operating_day',
            field=models.DateField(blank=True, help_text='For a closed facility: the last day it operated (the closure deduction counts the days after it).', null=True, verbose_name='last day of operation'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='facility',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "allocation_facilityhistory" ("address", "code", "early_reduction_activity_coefficient", "early_reduction_start_emissions_t", "early_reduction_start_year", "energy_use_kl", "id", "last_operating_day", "name", "name_en", "opened_on", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefecture") VALUES (NEW."address", NEW."code", NEW."early_reduction_activity_coefficient", NEW."early_reduction_start_emissions_t", NEW."early_reduction_start_year", NEW."energy_use_kl", NEW."id", NEW."last_operating_day", NEW."name", NEW."name_en", NEW."opened_on", NEW."organisation_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."prefecture"); RETURN NULL;', hash='cda74afd05ece0ab6dfcb7b6b2d88818d8e17e70', operation='INSERT', pgid='pgtrigger_insert_insert_6e98a', table='allocation_facility', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='facility',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "allocation_facilityhistory" ("address", "code", "early_reduction_activity_coefficient", "early_reduction_start_emissions_t", "early_reduction_start_year", "energy_use_kl", "id", "last_operating_day", "name", "name_en", "opened_on", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefecture") VALUES (NEW."address", NEW."code", NEW."early_reduction_activity_coefficient", NEW."early_reduction_start_emissions_t", NEW."early_reduction_start_year", NEW."energy_use_kl", NEW."id", NEW."last_operating_day", NEW."name", NEW."name_en", NEW."opened_on", NEW."organisation_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."prefecture"); RETURN NULL;', hash='30f5c7e28811e9baf849d03e470c1beeccda59fb', operation='UPDATE', pgid='pgtrigger_update_update_9511f', table='allocation_facility', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='facility',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "allocation_facilityhistory" ("address", "code", "early_reduction_activity_coefficient", "early_reduction_start_emissions_t", "early_reduction_start_year", "energy_use_kl", "id", "last_operating_day", "name", "name_en", "opened_on", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefecture") VALUES (OLD."address", OLD."code", OLD."early_reduction_activity_coefficient", OLD."early_reduction_start_emissions_t", OLD."early_reduction_start_year", OLD."energy_use_kl", OLD."id", OLD."last_operating_day", OLD."name", OLD."name_en", OLD."opened_on", OLD."organisation_id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."prefecture"); RETURN NULL;', hash='a978bd98826debc013f22bac49b30dcef9bed13a', operation='DELETE', pgid='pgtrigger_delete_delete_082aa', table='allocation_facility', when='AFTER')),
        ),
        migrations.AddConstraint(
            model_name='facility',
            constraint=models.CheckConstraint(condition=models.Q(('last_operating_day__isnull', True), ('opened_on__isnull', True), ('last_operating_day__gte', models.F('opened_on')), _connector='OR'), name='facility_closed_after_opened'),
        ),
    ]
