from rest_framework import serializers

from allocation.models import Facility, Process, ProcessYear


class ProcessYearSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessYear
        fields = ["fiscal_year", "activity", "emissions_t", "fuel_input_gj", "days_operated",
                  "by_product_fuel_gj", "by_product_fuel_supplied_gj"]


class ProcessSerializer(serializers.ModelSerializer):
    years = ProcessYearSerializer(many=True, read_only=True)

    class Meta:
        model = Process
        fields = ["id", "code", "name", "method", "benchmark_kind", "sector_benchmark",
                  "emission_type", "activity_unit", "years"]


class FacilitySerializer(serializers.ModelSerializer):
    corporate_number = serializers.CharField(source="organisation.corporate_number", read_only=True)
    processes = ProcessSerializer(many=True, read_only=True)

    class Meta:
        model = Facility
        fields = ["id", "corporate_number", "code", "name", "prefecture", "address", "energy_use_kl",
                  "opened_on", "last_operating_day", "processes"]


# --- public transition plans: every field is declared here, from allocation.public's plain data --------------

class PublicPlanRowSerializer(serializers.Serializer):
    organisation_id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    name_kana = serializers.CharField()
    corporate_number = serializers.CharField()
    sector = serializers.CharField()
    fiscal_year = serializers.IntegerField()
    accepted_at = serializers.DateTimeField()
    target_total_t = serializers.IntegerField(allow_null=True, help_text="FY2030 projected total (t-CO2)")
    actual_total_t = serializers.IntegerField(allow_null=True, help_text="latest actual total (t-CO2)")


class PublicEmissionsYearSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    direct_t = serializers.IntegerField()
    indirect_t = serializers.IntegerField(allow_null=True)
    total_t = serializers.IntegerField(allow_null=True)


class PublicResearchSerializer(serializers.Serializer):
    kind = serializers.CharField()
    reference = serializers.CharField()
    technology_category = serializers.CharField()


class PublicDocumentSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField()


class PublicPlanSerializer(PublicPlanRowSerializer):
    target_total_t = None
    actual_total_t = None
    version = serializers.IntegerField()
    group_boundary = serializers.CharField()
    target = PublicEmissionsYearSerializer(allow_null=True, help_text="item 1: the FY2030 projection only")
    actuals = PublicEmissionsYearSerializer(many=True, help_text="item 2")
    research = PublicResearchSerializer(many=True, help_text="item 4")
    rd_expenses_yen = serializers.IntegerField(allow_null=True)
    rd_initiatives = serializers.CharField()
    other_initiatives = serializers.CharField()
    documents = PublicDocumentSerializer(many=True, help_text="item 5")
    fiscal_years = serializers.ListField(child=serializers.IntegerField())
