"""Build a realistic synthetic registry.

    python manage.py seed_demo                        # ~40 entities, the local demo
    python manage.py seed_demo --entities 400 --facilities 10000 --processes 30000   # national scale

Idempotent: organisations are keyed by corporate number, users by email;
what exists is left as it is, so a second run neither fails nor duplicates.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts import services
from accounts.models import Membership, Organisation, Sector, User
from accounts.roles import Role
from accounts.validators import synthetic_corporate_number
from allocation import services as allocation_services
from allocation.models import (
    AllocationParameterSet,
    EntityFinancials,
    Facility,
    FacilityEvent,
    Process,
    ProcessYear,
    SectorBenchmark,
)
from gxregistry import notifications
from gxregistry.audit import audit_context

DEMO_PASSWORD = "gx-demo-Registry-2026"  # local demo only; printed at the end
BASELINE_YEARS = (2023, 2024, 2025)

# (sector, process name, benchmark kind, sector benchmark key, activity unit, t-CO2 per unit, emission type)
BENCHMARK_PROCESSES = {
    Sector.STEEL: [("高炉", "product", "steel.blast_furnace", "粗鋼 t", "2.0", "energy"),
                   ("電炉", "product", "steel.electric_arc", "粗鋼 t", "0.45", "energy")],
    Sector.CEMENT: [("クリンカー焼成キルン", "product", "cement.clinker", "クリンカー t", "0.85", "process")],
    Sector.CHEMICALS: [("エチレン分解炉", "product", "chemicals.ethylene", "エチレン t", "1.3", "energy"),
                       ("ソーダ灰製造", "product", "chemicals.soda", "ソーダ灰 t", "0.7", "process")],
    Sector.PULP_PAPER: [("抄紙機", "product", "paper.paper", "紙 t", "0.6", "energy")],
    Sector.POWER: [("石炭焚きボイラー", "fuel", "fuel.coal", "GJ", "0.089", "energy"),
                   ("LNGコンバインドサイクル", "fuel", "fuel.lng", "GJ", "0.051", "energy")],
    Sector.GLASS: [("フロートガラス溶解炉", "product", "glass.float", "板ガラス t", "0.55", "energy")],
    Sector.LIME: [("石灰焼成炉", "product", "lime.quicklime", "生石灰 t", "1.1", "process")],
    Sector.ALUMINIUM: [("アルミニウム圧延", "product", "aluminium.rolling", "製品 t", "0.9", "energy")],
    Sector.AUTOMOBILES: [("車両組立", "product", "automobiles.assembly", "台", "0.35", "energy")],
    Sector.OIL_REFINING: [("常圧蒸留装置", "product", "oil.refining", "原油 kL", "0.03", "energy")],
}
GRANDFATHERING_SECTORS = [Sector.FOOD, Sector.TEXTILES, Sector.CERAMICS, Sector.OTHER]
COMPANY_WORDS = ["Nihon", "Tokai", "Kanto", "Kansai", "Kyushu", "Hokuriku", "Chubu", "Sanyo", "Toyo", "Daiichi"]
SECTOR_JA = {
    Sector.STEEL: "製鉄", Sector.CEMENT: "セメント", Sector.CHEMICALS: "化学", Sector.PULP_PAPER: "製紙",
    Sector.POWER: "電力", Sector.GLASS: "硝子", Sector.LIME: "石灰", Sector.ALUMINIUM: "アルミニウム",
    Sector.AUTOMOBILES: "自動車", Sector.OIL_REFINING: "石油", Sector.FOOD: "食品", Sector.TEXTILES: "繊維",
    Sector.CERAMICS: "窯業", Sector.OTHER: "工業",
}
def sector_in_english(sector) -> str:
    """The sector's English name whatever language the command runs in (its label follows the active one), in a
    company name's capitals: "Iron and Steel", not "Iron and steel"."""
    from django.utils import translation

    with translation.override("en"):
        return " ".join(word if word == "and" else word[:1].upper() + word[1:] for word in str(sector.label).split())


SITE_KINDS_JA = ["工場", "製作所", "事業所", "発電所"]
SITE_KINDS_EN = ["Works", "Plant", "Site", "Power Station"]
PREFECTURE_EN = {n: name for n, name in enumerate([
    "", "Hokkaido", "Aomori", "Iwate", "Miyagi", "Akita", "Yamagata", "Fukushima", "Ibaraki", "Tochigi", "Gunma",
    "Saitama", "Chiba", "Tokyo", "Kanagawa", "Niigata", "Toyama", "Ishikawa", "Fukui", "Yamanashi", "Nagano", "Gifu",
    "Shizuoka", "Aichi", "Mie", "Shiga", "Kyoto", "Osaka", "Hyogo", "Nara", "Wakayama", "Tottori", "Shimane",
    "Okayama", "Hiroshima", "Yamaguchi", "Tokushima", "Kagawa", "Ehime", "Kochi", "Fukuoka", "Saga", "Nagasaki",
    "Kumamoto", "Oita", "Miyazaki", "Kagoshima", "Okinawa"])}
PREFECTURE_JA = {n: name for n, name in enumerate([
    "", "北海道", "青森", "岩手", "宮城", "秋田", "山形", "福島", "茨城", "栃木", "群馬", "埼玉", "千葉", "東京", "神奈川",
    "新潟", "富山", "石川", "福井", "山梨", "長野", "岐阜", "静岡", "愛知", "三重", "滋賀", "京都", "大阪", "兵庫", "奈良",
    "和歌山", "鳥取", "島根", "岡山", "広島", "山口", "徳島", "香川", "愛媛", "高知", "福岡", "佐賀", "長崎", "熊本", "大分",
    "宮崎", "鹿児島", "沖縄"])}
COMPANY_JA = ["日本", "東海", "関東", "関西", "九州", "北陸", "中部", "山陽", "東洋", "第一"]
COMPANY_KANA = ["ニホン", "トウカイ", "カントウ", "カンサイ", "キュウシュウ", "ホクリク", "チュウブ", "サンヨウ", "トウヨウ",
                "ダイイチ"]
SECTOR_KANA = {
    Sector.STEEL: "セイテツ", Sector.CEMENT: "セメント", Sector.CHEMICALS: "カガク", Sector.PULP_PAPER: "セイシ",
    Sector.POWER: "デンリョク", Sector.GLASS: "ガラス", Sector.LIME: "セッカイ", Sector.ALUMINIUM: "アルミニウム",
    Sector.AUTOMOBILES: "ジドウシャ", Sector.OIL_REFINING: "セキユ", Sector.FOOD: "ショクヒン", Sector.TEXTILES: "センイ",
    Sector.CERAMICS: "ヨウギョウ", Sector.OTHER: "コウギョウ",
}


class Command(BaseCommand):
    help = "Build the synthetic demo registry (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--entities", type=int, default=40)
        parser.add_argument("--facilities", type=int, default=None, help="total facilities (default 2-4 per entity)")
        parser.add_argument("--processes", type=int, default=None, help="total processes (default 1-3 per facility)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--quiet-users", action="store_true", help="do not print demo credentials")

    def handle(self, *args, entities, facilities, processes, seed, quiet_users, **options):
        rng = random.Random(seed)
        self.system = services.system_actor()  # the registry acts; a company's own acts stay its people's
        with audit_context(job="seed_demo"), notifications.quiet():
            bodies = self.fixed = self._fixed_organisations()
            created = self._entities(rng, entities, facilities, processes)
            users = self._users(bodies)
            self._allocation_settings()
            self._holding_accounts()
            self._allocation_cycle()
            self._demo_transfers()
            self._ledger_work()
            self._verification()
            self._transition_plans()  # after verification: item 2's direct emissions come from it
            self._market()
        self.stdout.write(self.style.SUCCESS(
            f"Demo registry ready: {Organisation.objects.filter(kind='regulated_entity').count()} regulated entities "
            f"({created} new), {Facility.objects.count()} facilities, {Process.objects.count()} processes."
        ))
        if not quiet_users:
            self.stdout.write(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD})")
            for email, role, organisation in users:
                self.stdout.write(f"  {email:<40} {role:<28} {organisation}")
            self.stdout.write("Administrators, representatives and verifiers set up a TOTP app (QR code) at first sign-in.\n")

    # --- organisations that are not regulated entities ---------------------------------
    def _fixed_organisations(self):
        specs = [
            ("meti", Organisation.Kind.REGISTRY_ADMINISTRATION, "経済産業省 GX-ETS 登録簿管理室", "METI GX-ETS Registry Office", synthetic_corporate_number(1, 0)),
            ("gxa", Organisation.Kind.MARKET_OPERATOR, "GX推進機構", "GX Acceleration Agency", synthetic_corporate_number(2, 0)),
            ("vb1", Organisation.Kind.VERIFICATION_BODY, "日本検証機構株式会社", "Japan Verification Co.", synthetic_corporate_number(11, 1)),
            ("vb2", Organisation.Kind.VERIFICATION_BODY, "東京温室効果ガス審査センター", "Tokyo GHG Assurance Centre", synthetic_corporate_number(12, 1)),
            ("vb3", Organisation.Kind.VERIFICATION_BODY, "関西サステナビリティ保証株式会社", "Kansai Sustainability Assurance", synthetic_corporate_number(13, 1)),
            ("to1", Organisation.Kind.TRADING_OPERATOR, "GXカーボントレーディング株式会社", "GX Carbon Trading Co.", synthetic_corporate_number(21, 1)),
            ("to2", Organisation.Kind.TRADING_OPERATOR, "みらい排出枠証券株式会社", "Mirai Allowance Securities", synthetic_corporate_number(22, 1)),
        ]
        result = {}
        for key, kind, name, name_en, number in specs:
            organisation = Organisation.objects.filter(corporate_number=number).first()
            if organisation is None:
                organisation = services.organisation_create(
                    kind=kind, name=name, name_en=name_en, corporate_number=number, address="東京都千代田区",
                    acting_user=self.system)
            result[key] = organisation
        return result

    # --- regulated entities with facilities, processes and FY2023-2025 data -------------
    def _entities(self, rng, count, total_facilities, total_processes):
        sectors = list(BENCHMARK_PROCESSES) + GRANDFATHERING_SECTORS
        facilities_per = _spread(total_facilities or sum(rng.randint(2, 4) for _ in range(count)), count)
        created = 0
        process_budget = iter(_spread(total_processes, sum(facilities_per)) if total_processes else [])
        for index in range(count):
            number = synthetic_corporate_number(1000 + index)
            if Organisation.objects.filter(corporate_number=number).exists():
                for _ in range(facilities_per[index]):
                    next(process_budget, None)
                continue
            sector = sectors[index % len(sectors)]
            word = index // len(sectors) % len(COMPANY_WORDS)
            with transaction.atomic():
                entity = services.organisation_create(
                    acting_user=self.system,
                    kind=Organisation.Kind.REGULATED_ENTITY,
                    name=f"{COMPANY_JA[word]}{SECTOR_JA[sector]}株式会社" + (f" 第{index // 100 + 1}" if count > 100 else ""),
                    name_kana=f"{COMPANY_KANA[word]}{SECTOR_KANA[sector]}",
                    name_en=f"{COMPANY_WORDS[word]} {sector_in_english(sector)} Co., Ltd."
                    + (f" No. {index // 100 + 1}" if count > 100 else ""),
                    corporate_number=number,
                    sector=sector,
                    address=PREFECTURE_JA[rng.randint(1, 47)],
                )
                self._facilities(rng, entity, sector, facilities_per[index], process_budget)
            created += 1
        return created

    def _facilities(self, rng, entity, sector, count, process_budget):
        facilities = []
        for n in range(count):
            opened = date(rng.randint(1965, 2015), 4, 1)
            site = rng.randint(1, 47)
            facilities.append(Facility(
                organisation=entity, code=f"F{n + 1:03d}",
                name=f"{PREFECTURE_JA[site]}{SITE_KINDS_JA[n % len(SITE_KINDS_JA)]}{n // len(SITE_KINDS_JA) + 1 if n >= len(SITE_KINDS_JA) else ''}",
                name_en=f"{PREFECTURE_EN[site]} {SITE_KINDS_EN[n % len(SITE_KINDS_EN)]}"
                        f"{f' {n // len(SITE_KINDS_EN) + 1}' if n >= len(SITE_KINDS_EN) else ''}",
                prefecture=site, address="", opened_on=opened,
                energy_use_kl=Decimal(rng.choice([800, 1200, 5000, 20000, 80000, 250000])),
            ))
        # A few of the §5-1 pre-start cases, so the demo shows them.
        if count >= 2 and rng.random() < 0.2:
            facilities[-1].opened_on = date(2024, 10, 1)
        if count >= 3 and rng.random() < 0.1:
            facilities[-2].last_operating_day = date(2025, 1, 30)
        Facility.objects.bulk_create(facilities)
        processes, years, events = [], [], []
        for facility in facilities:
            templates = BENCHMARK_PROCESSES.get(sector)
            n_processes = next(process_budget, None) or rng.randint(1, 3)
            for p in range(n_processes):
                if templates:
                    name, kind, key, unit, intensity, emission_type = templates[p % len(templates)]
                    process = Process(facility=facility, code=f"P{p + 1:02d}", name=name, method="benchmark",
                                      benchmark_kind=kind, sector_benchmark=key, emission_type=emission_type,
                                      activity_unit=unit)
                else:
                    intensity, unit = "1", ""
                    process = Process(facility=facility, code=f"P{p + 1:02d}", name=f"ボイラー・炉 {p + 1}",
                                      method="grandfathering", emission_type=rng.choice(["energy", "energy", "process"]))
                processes.append((process, Decimal(intensity)))
        Process.objects.bulk_create([p for p, _ in processes])
        for process, intensity in processes:
            emissions = Decimal(rng.randint(40_000, 400_000))
            for fy in BASELINE_YEARS:
                drift = Decimal(rng.randint(92, 108)) / 100
                fy_emissions = (emissions * drift).quantize(Decimal("1"))
                activity = (fy_emissions / intensity * Decimal(rng.randint(95, 105)) / 100).quantize(Decimal("1"))
                years.append(ProcessYear(
                    process=process, fiscal_year=fy, emissions_t=fy_emissions,
                    activity=activity if process.method == "benchmark" else None,
                    fuel_input_gj=activity if process.benchmark_kind == "fuel"
                    else (fy_emissions / Decimal("0.07")).quantize(Decimal("1")),
                    days_operated=365 if fy != 2024 else 366,
                ))
        ProcessYear.objects.bulk_create(years)
        if rng.random() < 0.1:
            events.append(FacilityEvent(facility=facilities[0], kind="designated_disaster", fiscal_year=2024,
                                        started_on=date(2024, 8, 28), description="Typhoon"))
        if sector == Sector.CHEMICALS and rng.random() < 0.5:
            events.append(FacilityEvent(facility=facilities[0], kind="hpgsa_inspection", fiscal_year=2023,
                                        started_on=date(2023, 9, 1), completed_on=date(2023, 11, 30)))
        FacilityEvent.objects.bulk_create(events)

    # --- sector benchmarks and allocation parameters ---------------------------------------------
    def _allocation_settings(self):

        for templates in BENCHMARK_PROCESSES.values():
            for name, kind, key, _unit, _intensity, _type in templates:
                benchmark, _ = SectorBenchmark.objects.get_or_create(
                    key=key, defaults={"name": name, "kind": kind,
                                       "by_product_fuel_ef": Decimal("0.26") if key == "steel.blast_furnace" else None,
                                       "sector_average_fuel_ef": Decimal("0.0561") if key == "steel.blast_furnace" else None},
                )
                if benchmark.top_50 is None and Process.objects.filter(sector_benchmark=key).exists():
                    allocation_services.sector_benchmark_levels_compute(benchmark=benchmark, acting_user=self.system)
        AllocationParameterSet.objects.get_or_create(fiscal_year=None, defaults={
            "values": {"gf_process_rate": "0.010", "national_average_ef_t_per_mwh": "0.434",
                       "average_allowance_price_yen": "3000"},
            "note": "Demo values: the report leaves the process-CO2 rate, the emission factor and prices open.",
        })

    # --- holding accounts: one per regulated entity and trading operator ---------------------------
    def _holding_accounts(self):
        from accounts import ledger
        from accounts.models import HoldingAccount

        ledger.government_accounts()
        entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("pk"))
        for organisation in Organisation.objects.filter(kind=Organisation.Kind.TRADING_OPERATOR):
            ledger.holding_account_open(kind=HoldingAccount.Kind.TRADING, organisation=organisation,
                                        acting_user=self.system)
        for organisation in entities:
            ledger.holding_account_open(kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation,
                                        acting_user=self.system)

    # --- the allocation cycle, through its services as METI and the companies would run it ----------
    def _allocation_cycle(self):
        """FY2026 allocated by a run (notices made) with one correction issued; FY2027 open with an application
        in each state before issuance. Idempotent: an FY that has applications is left as it is."""
        from allocation.models import AllocationApplication
        from allocation.services import cycle
        from gxregistry.errors import RegistryError

        users = {u.email: u for u in User.objects.filter(email__endswith=".example.jp")}
        administrator, second = users.get("admin@meti.example.jp"), users.get("admin2@meti.example.jp")
        if administrator is None or second is None:
            return
        for fiscal_year in (2026, 2027):  # demo terms; the real ones are set per FY by the government
            if cycle.period_or_none(fiscal_year) is None:
                cycle.compliance_period_save(
                    fiscal_year=fiscal_year, surrender_deadline=date(fiscal_year + 1, 11, 30),
                    upper_limit_price_yen=4300 + 200 * (fiscal_year - 2026), lower_limit_price_yen=1700,
                    credit_cap_share="0.10", acting_user=administrator)
        entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by(
            "corporate_number"))

        def walk(entity, index, fiscal_year, until):
            """One entity's application through the states, stopping at ``until``."""
            representative = self._representative(entity, index, users)
            application = cycle.application_create(organisation=entity, fiscal_year=fiscal_year,
                                                   acting_user=representative)
            rd = (index, fiscal_year) == (0, 2026)  # a GX R&D recipient (§6-3) with its evidence
            if rd:
                cycle.application_financials_save(
                    application=application, acting_user=representative, sales_yen="800000000000",
                    gx_rd_spend_yen="9000000000", government_rd_support_yen="500000000")
                cycle.application_update(
                    application=application, acting_user=representative, gx_patents="特願2025-104321 Y02P 10/20",
                    rd_confirmed_by="みらい監査法人", rd_confirmation_reference="MA-2026-0042")
                # §6-3 caps the R&D line at the previous FY's shortfall; FY2025 had no allocation, so it is the
                # shortfall the entity reported (a figure METI loads, not one the entity edits).
                EntityFinancials.objects.filter(organisation=entity, fiscal_year=2025).update(shortfall_t=250_000)
            steps = [("submitted", lambda a: cycle.application_submit(application=a, acting_user=representative)),
                     ("under_review", lambda a: cycle.application_review_start(application=a,
                                                                               acting_user=administrator)),
                     ("returned", lambda a: cycle.application_return(
                         application=a, acting_user=administrator,
                         message="FY2025 の活動量の根拠資料（生産実績表）を添付してください。")),
                     ("computed", lambda a: cycle.application_compute(application=a, acting_user=administrator,
                                                                      rd_evidence_confirmed=rd or None)),
                     ("approved", lambda a: cycle.application_approve(application=a, acting_user=second,
                                                                      otp_token=_code(second)))]
            for state, step in steps:
                if until == "draft" or (state == "returned" and until != "returned"):
                    continue
                try:
                    application = step(application)
                except RegistryError:
                    return application  # the engine cannot compute from this entity's data: it stays where it is
                if state == until:
                    break
            return application

        if not AllocationApplication.objects.filter(fiscal_year=2026).exists():
            for index, entity in enumerate(entities):
                walk(entity, index, 2026, "approved")
            self._run(2026, administrator)
            corrected = AllocationApplication.objects.filter(fiscal_year=2026, status="issued").order_by(
                "organisation__corporate_number")[2:3]
            for issued in corrected:
                correction = cycle.application_correct(
                    application=issued, acting_user=administrator,
                    reason="2024年度の検証済み排出量の訂正（確認機関の訂正意見による）")
                cycle.application_compute(application=correction, acting_user=administrator,
                                          adjustment_t=-min(1000, issued.computed_total),
                                          adjustment_reason="訂正意見により基準量を減算")
                cycle.application_approve(application=correction, acting_user=second, otp_token=_code(second))
                self._run(2026, administrator)
        if not AllocationApplication.objects.filter(fiscal_year=2027).exists():
            for index, (entity, state) in enumerate(zip(entities, ("draft", "submitted", "under_review", "returned",
                                                                   "computed", "approved"), strict=False)):
                walk(entity, index, 2027, state)

    def _run(self, fiscal_year, administrator):
        """The reserve funded for what the run needs, then the run, as the workers would do it (queued again,
        the jobs find nothing left to do: issuance and notices are idempotent)."""
        from accounts import ledger
        from allocation.models import AllocationApplication
        from allocation.services import cycle, notices

        plan = cycle.run_plan(fiscal_year)
        missing = plan.to_allocate - plan.reserve_holds
        if missing > 0:
            ledger.issue_allowances(vintage=fiscal_year, quantity=missing,
                                    idempotency_key=f"seed-issue-{fiscal_year}-{plan.to_allocate}")
        run = cycle.allocation_run_start(fiscal_year=fiscal_year, acting_user=administrator,
                                         otp_token=_code(administrator))
        cycle.allocation_run_execute(run.pk)
        for application in AllocationApplication.objects.filter(fiscal_year=fiscal_year, notice__isnull=True,
                                                                 status__in=["issued", "superseded"]):
            notices.notice_create(application=application, acting_user=administrator)

    def _demo_transfers(self):
        from accounts import ledger
        from accounts.models import HoldingAccount

        entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("pk")[:2])
        if len(entities) < 2:
            return
        source, destination = (HoldingAccount.objects.get(organisation=e, kind=HoldingAccount.Kind.OPERATOR_HOLDING)
                               for e in entities)
        held = source.balances.filter(vintage=2026).values_list("quantity", flat=True).first() or 0
        if held > 1000:
            for n, quantity in enumerate((500, 250, 120)):
                ledger.transfer_units(source=source, destination=destination, unit=ledger.allowance(2026),
                                      quantity=quantity, idempotency_key=f"seed-transfer-{n}")

    # --- something for each role to act on: a compliance period, approvals waiting --------------
    def _ledger_work(self):
        from accounts import ledger
        from accounts.ledger import administration
        from accounts.models import BookingRequest, CreditBatch, HoldingAccount, TransferRequest

        first, second = Organisation.objects.filter(kind="regulated_entity").order_by("corporate_number")[:2]
        representative = User.objects.filter(email="rep@entity1.example.jp").first()
        source = HoldingAccount.objects.filter(organisation=first, kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()
        destination = HoldingAccount.objects.filter(organisation=second,
                                                    kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()
        if representative and source and destination and not TransferRequest.objects.filter(source=source).exists():
            # Seeded as if initiated (a seed has no second factor to give); the demo approver approves it.
            TransferRequest.objects.create(source=source, destination=destination, unit_type="allowance",
                                           vintage=2026, quantity=100, initiated_by=representative,
                                           initiated_at=timezone.now())
        administrator = User.objects.filter(email="admin@meti.example.jp").first()
        if administrator and not BookingRequest.objects.exists():
            administration.booking_request_create(kind="issuance", vintage=2027, quantity=1_000_000,
                                                  reason="2027年度割当分（デモ）", acting_user=administrator)
        # Credits: a J-Credit batch already brought in (seeded as if approved), a JCM batch awaiting approval.
        if source and not CreditBatch.objects.exists():
            batch = CreditBatch.objects.create(unit_type="j_credit", serial_start=100_001, serial_end=102_000,
                                               vintage=2024, origin="JCR demo: biomass boiler (Hokkaido)")
            ledger.issue_credits(batch=batch, account=source, idempotency_key=f"seed-credits-{batch.pk}")
        if administrator and destination and not BookingRequest.objects.filter(unit_type="jcm_credit").exists():
            administration.credit_issuance_request_create(
                unit_type="jcm_credit", serial_start=1, serial_end=5_000, vintage=2019, eligible=False,
                origin="JCMデモ：太陽光発電（インドネシア）", account=destination,
                reason="JCM登録簿からの移転（デモ）", acting_user=administrator)

    # --- one user for every role ----------------------------------------------------------------
    def _users(self, bodies):
        first, second = Organisation.objects.filter(kind="regulated_entity").order_by("corporate_number")[:2]
        specs = [
            ("admin@meti.example.jp", "登録簿 管理者", bodies["meti"], Role.REGISTRY_ADMINISTRATOR),
            ("admin2@meti.example.jp", "登録簿 第二管理者", bodies["meti"], Role.REGISTRY_ADMINISTRATOR),
            ("market@gxa.example.jp", "市場 運営者", bodies["gxa"], Role.MARKET_OPERATOR),
            ("rep@entity1.example.jp", "代表 一郎", first, Role.AUTHORISED_REPRESENTATIVE),
            ("approver@entity1.example.jp", "承認 花子", first, Role.APPROVING_REPRESENTATIVE),
            ("viewer@entity1.example.jp", "閲覧 次郎", first, Role.VIEWER),
            ("rep@entity2.example.jp", "代表 三郎", second, Role.AUTHORISED_REPRESENTATIVE),
            ("verifier@vb1.example.jp", "検証 四郎", bodies["vb1"], Role.VERIFIER),
            ("reviewer@vb1.example.jp", "審査 七海", bodies["vb1"], Role.VERIFIER),
            ("rep@vb1.example.jp", "機関 代表", bodies["vb1"], Role.AUTHORISED_REPRESENTATIVE),
            ("verifier@vb2.example.jp", "検証 五郎", bodies["vb2"], Role.VERIFIER),
            ("reviewer@vb2.example.jp", "審査 八重", bodies["vb2"], Role.VERIFIER),
            ("rep@vb2.example.jp", "東京 代表", bodies["vb2"], Role.AUTHORISED_REPRESENTATIVE),
            ("rep@vb3.example.jp", "関西 代表", bodies["vb3"], Role.AUTHORISED_REPRESENTATIVE),
            ("trader@to1.example.jp", "取引 六子", bodies["to1"], Role.AUTHORISED_REPRESENTATIVE),
        ]
        result = []
        for email, name, organisation, role in specs:
            user = User.objects.filter(email=email).first() or services.user_create(
                email=email, full_name=name, password=DEMO_PASSWORD, acting_user=self.system)
            if not Membership.objects.filter(user=user, organisation=organisation, ended_at__isnull=True).exists():
                services.membership_create(user=user, organisation=organisation, role=role, acting_user=self.system)
            result.append((email, Role(role).label, organisation.name))
        return result


    # --- the allowance market (§8): participants with yen at GXA, a day of trades, resting orders --------------
    def _market(self):
        from datetime import date, datetime, time, timedelta
        from zoneinfo import ZoneInfo

        from market.models import Instrument, InstrumentParameters, Participant
        from market.services import orders, participants

        if Instrument.objects.filter(vintage=2026).exists():
            return
        operator = User.objects.get(email="market@gxa.example.jp")
        instrument = participants.instrument_create(vintage=2026, opens_on=date(2026, 10, 1), acting_user=operator)
        # The last full trading day before today: the demo's day of trades.
        day = timezone.localdate() - timedelta(days=1)
        while not participants.trading_day(day) or day < instrument.opens_on:
            day -= timedelta(days=1)
        tokyo = ZoneInfo("Asia/Tokyo")
        start = datetime.combine(day, time(9, 30), tzinfo=tokyo)
        # The market opened at the lower-limit price; GXA's reverse auction followed (§1), then the price recovered
        # and GXA moved the reference price. Parameters in the past are seeded directly: the service sets them from
        # now on only.
        InstrumentParameters.objects.create(instrument=instrument, effective_from=datetime.combine(
            instrument.opens_on, time(8, 0), tzinfo=tokyo), reference_price_yen=1800, band_percent=20,
            halt_minutes=10, reason="市場開設時の設定", set_by=operator)
        InstrumentParameters.objects.create(instrument=instrument, effective_from=start - timedelta(days=1),
                                            reference_price_yen=3000, band_percent=20, halt_minutes=10,
                                            reason="逆オークション後の価格回復を踏まえた基準価格の見直し", set_by=operator)
        traders = {}
        for email in ("rep@entity1.example.jp", "rep@entity2.example.jp", "trader@to1.example.jp"):
            user = User.objects.get(email=email)
            organisation = user.memberships.get().organisation
            participant = participants.participant_join(organisation=organisation,
                                                        rules_version=participants.RULES_VERSION, acting_user=user)
            if participant.status == Participant.Status.APPLIED:
                participant = participants.participant_decide(participant=participant, decision="approve",
                                                              acting_user=operator, otp_token=_code(operator))
            orders.cash_deposit(participant=participant, amount_yen=50_000_000, bank_reference=f"DEMO-IN-{email}",
                                acting_user=operator, otp_token=_code(operator))
            traders[email.split("@")[1].split(".")[0]] = (participant, user)
        self._market_floor(instrument, operator, traders, day)
        plan = [  # (minutes after 9:30, who, side, price, quantity, time in force)
            (0, "entity1", "sell", 3050, 300, "gtc"), (5, "entity1", "sell", 3020, 200, "gtc"),
            (10, "entity2", "buy", 2980, 250, "gtc"), (20, "to1", "buy", 2990, 150, "gtc"),
            (45, "to1", "buy", 3025, 250, "gtc"), (90, "entity2", "buy", 3050, 120, "gtc"),
            (150, "entity1", "sell", 2990, 100, "gtc"), (200, "entity1", "sell", 3040, 400, "gtc"),
            (240, "entity2", "buy", 2970, 300, "gtc"), (260, "to1", "sell", 3060, 50, "gtc"),
        ]
        for n, (minutes, who, side, price, quantity, time_in_force) in enumerate(plan):
            participant, user = traders[who]
            if side == "sell" and participant.organisation.kind != Organisation.Kind.REGULATED_ENTITY:
                continue  # the trading operator holds nothing yet
            orders.order_enter(participant=participant, instrument=instrument, side=side, price_yen=price,
                               quantity=quantity, time_in_force=time_in_force, idempotency_key=f"demo-{n}",
                               acting_user=user, now=start + timedelta(minutes=minutes))
        self._market_surveillance(instrument, operator, day, start)

    def _market_floor(self, instrument, operator, traders, day):
        """Three trading days at the lower-limit price two weeks before ``day``, then GXA's reverse auction,
        cleared (§1)."""
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        from market.services import auctions, orders, participants

        tokyo = ZoneInfo("Asia/Tokyo")
        days, candidate = [], day - timedelta(days=14)
        while len(days) < 5:  # three low days, the auction's day and one more before the recovery
            if participants.trading_day(candidate) and candidate >= instrument.opens_on:
                days.append(candidate)
            candidate += timedelta(days=1)
        (seller, seller_user), (buyer, buyer_user) = traders["entity1"], traders["to1"]
        for n, (low_day, price) in enumerate(zip(days[:3], (1700, 1690, 1680), strict=True)):
            at = datetime.combine(low_day, time(10, 0), tzinfo=tokyo)
            orders.order_enter(participant=seller, instrument=instrument, side="sell", price_yen=price, quantity=400,
                               idempotency_key=f"demo-floor-sell-{n}", acting_user=seller_user, now=at)
            orders.order_enter(participant=buyer, instrument=instrument, side="buy", price_yen=price, quantity=400,
                               idempotency_key=f"demo-floor-buy-{n}", acting_user=buyer_user,
                               now=at + timedelta(minutes=30))
        opens = datetime.combine(days[3], time(9, 0), tzinfo=tokyo)
        auction = auctions.auction_open(
            instrument=instrument, budget_kind="volume", budget=500, pricing="uniform", offers_from=opens,
            offers_until=opens + timedelta(hours=6), reason="JPA-2026の終値が3取引日連続で下限価格以下となったため。",
            acting_user=operator, otp_token=_code(operator), now=opens)
        for n, (who, price, quantity) in enumerate([("entity1", 1650, 300), ("to1", 1690, 400),
                                                    ("entity2", 1700, 200)]):
            participant, user = traders[who]
            auctions.offer_submit(auction=auction, participant=participant, price_yen=price, quantity=quantity,
                                  acting_user=user, now=opens + timedelta(hours=1, minutes=n * 10))
        auctions.auction_clear(auction=auction, acting_user=operator, otp_token=_code(operator),
                               now=opens + timedelta(hours=7))

    def _market_surveillance(self, instrument, operator, day, start):
        """The day's scan under GXA's thresholds: alerts in the review queue; one decided. An insider list."""
        from datetime import timedelta

        from market.models import Alert, SurveillanceParameters
        from market.services import surveillance

        SurveillanceParameters.objects.create(
            effective_from=start - timedelta(days=30), concentration_percent=45, layering_seconds=60,
            layering_ticks=5, layering_orders=5, close_minutes=10, close_move_percent=3,
            reason="市場開設時の基準値", set_by=operator)
        surveillance.surveillance_scan(instrument=instrument, day=day, acting_user=operator,
                                       now=start + timedelta(hours=6))
        decided = Alert.objects.filter(kind=Alert.Kind.HOLDING_CONCENTRATION).order_by("pk").first()
        if decided is not None and Alert.objects.count() > 1:
            surveillance.alert_decide(alert=decided, decision="dismiss", acting_user=operator,
                                      note="自社への割当分の保有であり、問題なし。")
        insiders = surveillance.insider_list_create(
            name="2027年度割当数値", information="割当通知の発行前に知り得る2027年度の割当総量",
            acting_user=operator)
        surveillance.insider_add(insider_list=insiders, email="admin@meti.example.jp", acting_user=operator,
                                 reason="2027年度の割当処理を承認する担当者", now=start - timedelta(days=1))

    # --- transition plans (§7), through their services as the companies and METI would file them ---------
    def _transition_plans(self):
        """Plans for most entities over FY2026 and FY2027: accepted ones on the public pages (the first entity,
        an R&D recipient, with item 4), a FY2026 plan accepted at its second version, and for the printed demo
        users a FY2027 draft (entity 1), a returned plan (entity 2) and one waiting for METI (entity 3).
        Idempotent: an entity that has plans is left as it is."""
        from allocation.models import TransitionPlan

        users = {u.email: u for u in User.objects.filter(email__endswith=".example.jp")}
        administrator = users.get("admin@meti.example.jp")
        if administrator is None:
            return
        entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY,
                                                    stakeholder_of__isnull=True).order_by("corporate_number"))
        for index, entity in enumerate(entities):
            if index % 8 == 7 or TransitionPlan.objects.filter(organisation=entity).exists():
                continue  # not filed yet (the review queue's progress shows them), or filed by an earlier run
            representative = self._member(entity, index, users, Role.AUTHORISED_REPRESENTATIVE)
            approver = self._member(entity, index, users, Role.APPROVING_REPRESENTATIVE)
            direct = int(sum(self._latest_emissions(entity).values()) or 100_000)
            with transaction.atomic():  # an entity's plans all or none, so a second run finds them whole
                self._entity_plans(index, entity, representative, approver, administrator, direct)

    def _entity_plans(self, index, entity, representative, approver, administrator, direct):
        from allocation.services import plans

        for fiscal_year in (2026, 2027):
            plan = plans.plan_create(organisation=entity, fiscal_year=fiscal_year, acting_user=representative)
            self._plan_contents(plan, entity, representative, int(direct), fiscal_year)
            if (index, fiscal_year) == (0, 2027):
                break  # entity 1's representative has this one to file
            plans.plan_file(plan=plan, acting_user=representative)
            plans.plan_confirm(plan=plan, acting_user=approver)
            if (index, fiscal_year) == (2, 2027):
                continue  # waiting for METI
            if (index, fiscal_year) in ((1, 2027), (3, 2026)):
                plans.plan_return(plan=plan, acting_user=administrator,
                                  message="項目3の対象設備と実施時期を具体的に記載してください。")
                if (index, fiscal_year) == (1, 2027):
                    continue  # returned: entity 2's representative starts the next version
                plan = plans.plan_create(organisation=entity, fiscal_year=fiscal_year, acting_user=representative)
                plans.plan_investments_save(plan=plan, acting_user=representative, rows=[
                    {"stage": "planned", "measure": "高効率ボイラーへの更新", "facilities": "第1工場 ボイラー2基",
                     "timing": "2027年度〜2028年度", "effect_t_per_year": int(direct * 0.04)}])
                plans.plan_file(plan=plan, acting_user=representative)
                plans.plan_confirm(plan=plan, acting_user=approver)
            plans.plan_accept(plan=plan, acting_user=administrator)

    def _plan_contents(self, plan, entity, representative, direct, fiscal_year):
        from allocation.services import plans

        rows = [{"kind": "projected", "fiscal_year": fy, "direct_t": int(direct * (1 - 0.035 * (fy - 2025))),
                 "indirect_t": int(direct * 0.12 * (1 - 0.02 * (fy - 2025)))} for fy in range(2026, 2031)]
        rows += [{"kind": "actual", "fiscal_year": fy, "direct_t": int(direct * (1 + 0.01 * (fiscal_year - 1 - fy))),
                  "indirect_t": int(direct * 0.12)} for fy in range(2025, fiscal_year)]
        plans.plan_emissions_save(plan=plan, rows=rows, acting_user=representative)
        plans.plan_investments_save(plan=plan, acting_user=representative, rows=[
            {"stage": "planned", "measure": "燃料転換（重油から都市ガス）", "facilities": "主力工場",
             "timing": "2027年度", "effect_t_per_year": int(direct * 0.05)},
            {"stage": "implemented", "measure": "照明・空調の高効率化", "facilities": "全事業所",
             "timing": "2025年度", "effect_t_per_year": int(direct * 0.01)}])
        texts = {"other_initiatives": "再生可能エネルギー電力の調達拡大と、サプライヤーとの排出削減の協働。"}
        if plans.rd_recipient(entity, fiscal_year) or plan.research.exists():
            plans.plan_research_save(plan=plan, acting_user=representative, rows=[
                {"kind": "patent", "reference": "特願2025-104321", "technology_category": "Y02P 10/20 水素還元製鉄"},
                {"kind": "gi_fund", "reference": "製鉄プロセスにおける水素活用プロジェクト", "technology_category": "水素還元"}])
            texts |= {"rd_expenses_yen": "1250000000",
                      "rd_initiatives": "水素還元製鉄の実証炉を2028年度に稼働させ、2030年度に商用化を判断する。"}
        plans.plan_update(plan=plan, acting_user=representative, **texts)
        if not plan.documents.exists():
            plans.plan_document_add(plan=plan, acting_user=representative, title="中期経営計画（カーボンニュートラル編）",
                                    url=f"https://example.jp/{entity.corporate_number}/carbon-neutral-strategy")

    # --- the verification half: bodies in each state, reports and engagements in each state -----------
    def _verification(self):
        """Through the services, as the people would: vb1 registered, vb2 registered with its renewal due,
        vb3 applying; FY(compliance year) reports verified for most entities, one under verification, one
        with a body appointed, one in draft. Idempotent: what exists is left as it is."""

        from accounts.compliance import compliance_year
        from verification.models import EmissionFactor, EmissionsReport, VerificationBody
        from verification.services import bodies, engagements, reports

        code = _code
        users = {u.email: u for u in User.objects.filter(email__endswith=".example.jp")}
        administrator = users.get("admin@meti.example.jp")
        if administrator is None:
            return
        today = timezone.localdate()
        plans = {"vb1": date(2026, 4, 1),
                 "vb2": bodies.registration_end(today, -5) + timedelta(days=121),  # about 120 days left: renewal due
                 "vb3": None}  # applying: waiting for METI
        for key, registered_on in plans.items():
            organisation = self.fixed[key]
            representative = users[f"rep@{key}.example.jp"]
            body = VerificationBody.objects.filter(organisation=organisation).first()
            if body is not None:
                continue
            application = bodies.body_application_start(organisation=organisation, acting_user=representative)
            bodies.body_application_update(
                application=application, acting_user=representative, basic_qualification="iso_14065",
                accreditation=f"JAB RE-GHG {key[-1]:0>4}, ISO 14065:2020 (ISO 14064-1)",
                personnel="検証員 12名（主任検証員 4名）", responsible_verifier="検証 太郎",
                responsible_verifier_experience="GHG 検証 10年、GX リーグ第1フェーズで 30 件",
                financial_footing="資本金 1億円、監査済み財務諸表", quality_assurance="意見ごとに独立レビュー",
                independence="被検証者へのコンサルティングを行わない", scope="鉄鋼、化学、セメント、電力",
                scope_en="Steel, chemicals, cement, power")
            for requirement in ("basic", "personnel", "financial", "quality"):
                bodies.evidence_upload(application=application, requirement=requirement,
                                       upload=SimpleUploadedFile(f"{requirement}.pdf", DEMO_PDF),
                                       acting_user=representative)
            bodies.body_application_submit(application=application, acting_user=representative)
            if registered_on is not None:
                bodies.body_register(application=application, registration_number=f"GX-VB-{key[-1]:0>3}",
                                     registered_on=registered_on, acting_user=administrator,
                                     otp_token=code(administrator))
        fiscal_year = compliance_year()
        for fuel, name, name_en, unit, factor, accuracy in DEMO_FUELS:
            if not EmissionFactor.objects.filter(fiscal_year=fiscal_year, code=fuel).exists():
                reports.emission_factor_set(fiscal_year=fiscal_year, code=fuel, name=name, name_en=name_en, unit=unit,
                                            factor=factor, accuracy_class=accuracy, acting_user=administrator)
        factors = list(EmissionFactor.objects.filter(fiscal_year=fiscal_year).order_by("code"))
        registered = [VerificationBody.objects.get(organisation=self.fixed[k]) for k in ("vb1", "vb2")]
        entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by(
            "corporate_number"))
        for index, entity in enumerate(entities):
            if EmissionsReport.objects.filter(organisation=entity, fiscal_year=fiscal_year).exists():
                continue
            representative = self._representative(entity, index, users)
            report = reports.emissions_report_create(organisation=entity, fiscal_year=fiscal_year,
                                                     acting_user=representative)
            # One file per entity through the import service, as an entity's system would send it.
            rows = [",".join(reports.IMPORT_COLUMNS)]
            emitted = self._latest_emissions(entity)
            for n, facility in enumerate(entity.facilities.order_by("code")):
                factor = factors[n % len(factors)]
                activity = (emitted.get(facility.pk, Decimal(1000)) * Decimal("0.98") / factor.factor).quantize(
                    Decimal("0.001"))
                values = {"facility_code": facility.code, "kind": "energy", "source": factor.name,
                          "method": "activity_factor", "emission_factor_code": factor.code, "activity": activity,
                          "instrument": "流量計", "instrument_tolerance_pct": "1.5",
                          "instrument_upkeep": "年1回校正 / calibrated yearly"}
                rows.append(",".join(str(values.get(name, "")) for name in reports.IMPORT_COLUMNS))
            if len(rows) > 1:
                reports.emissions_lines_import(report=report, data="\n".join(rows).encode(), extension="csv",
                                               dry_run=False, acting_user=representative)
            if index == 4 or not report.lines.exists():
                continue  # left in draft
            reports.emissions_report_submit(report=report, acting_user=representative)
            body = registered[index % 2]
            # A body whose registration ends sooner must deliver its opinion before then.
            due_on = min(engagements.default_due_on(fiscal_year), body.valid_until)
            engagement = engagements.engagement_appoint(report=report, body=body, purpose="actual", due_on=due_on,
                                                        acting_user=representative)
            if index == 3:
                continue  # a body appointed, work not started
            key = "vb1" if body == registered[0] else "vb2"
            lead, reviewer = users[f"verifier@{key}.example.jp"], users[f"reviewer@{key}.example.jp"]
            engagements.engagement_team_set(engagement=engagement, team=[lead], independent_reviewer=reviewer,
                                            acting_user=lead)
            engagements.engagement_start(engagement=engagement, acting_user=lead)
            engagements.work_log_add(engagement=engagement, kind="site_visit", occurred_on=today,
                                     description="主要計量器の確認", acting_user=lead)
            if index == 2:
                continue  # under verification
            engagements.opinion_sign(engagement=engagement, kind="unmodified", standard="iso_14064_3",
                                     statement="重要な虚偽表示は認められない。",
                                     acting_user=reviewer, otp_token=code(reviewer))

    def _representative(self, entity, index, users):
        return self._member(entity, index, users, Role.AUTHORISED_REPRESENTATIVE)

    def _member(self, entity, index, users, role):
        """The entity's representative (rep@) or approving representative (approver@): the printed demo users for
        the first entities, quiet ones else."""
        prefix, name = {Role.AUTHORISED_REPRESENTATIVE: ("rep", "報告 担当"),
                        Role.APPROVING_REPRESENTATIVE: ("approver", "承認 担当")}[role]
        email = f"{prefix}@entity{index + 1}.example.jp"
        user = users.get(email) or User.objects.filter(email=email).first()
        if user is None:
            user = services.user_create(email=email, full_name=f"{name}{index + 1}", password=DEMO_PASSWORD,
                                        acting_user=self.system)
        if not Membership.objects.filter(user=user, organisation=entity, ended_at__isnull=True).exists():
            services.membership_create(user=user, organisation=entity, role=role, acting_user=self.system)
        return user

    def _latest_emissions(self, entity) -> dict:
        """{facility id: t-CO2} of the entity's latest reported year (FY2025 in the demo), in one query."""
        years = ProcessYear.objects.filter(process__facility__organisation=entity)
        latest = years.order_by("-fiscal_year").values_list("fiscal_year", flat=True).first()
        return dict(years.filter(fiscal_year=latest).values("process__facility").annotate(
            total=Sum("emissions_t")).values_list("process__facility", "total"))


# (code, name, name in English, unit, t-CO2 per unit, instrument accuracy class): demo values
DEMO_FUELS = [
    ("a-heavy-oil", "A重油", "A heavy oil", "kL", "2.71", "liquid_fuel"),
    ("city-gas", "都市ガス", "City gas", "千Nm3", "2.05", "city_gas"),
    ("coal", "一般炭", "Steam coal", "t", "2.33", "solid_fuel"),
    ("lng", "液化天然ガス", "LNG", "t", "2.70", "lng"),
]
DEMO_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _code(user) -> str:
    """A fresh single-use second-factor code for a demo user's act (a backup code of a seed device)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    device, _created = StaticDevice.objects.get_or_create(user=user, name="demo seed", defaults={"confirmed": True})
    return device.token_set.create(token=StaticToken.random_token()).token


def _spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole numbers that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
