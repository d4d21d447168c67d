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
