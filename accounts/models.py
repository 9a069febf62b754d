"""Organizations, accounts, warehouses, people and their roles, and the audit log."""

import pytz
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper

TIMEZONE_CHOICES = [(name, name) for name in pytz.common_timezones]
ACCOUNT_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9_-]{2,32}$",
    "Use 2 to 32 characters: letters, digits, '_' or '-'.",
    code="invalid_code",
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address."""

    username = None
    email = models.EmailField("Email", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self):
        return self.get_full_name() or self.email


class Organization(models.Model):
    name = models.CharField("Name", max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class LicenseType(models.TextChoices):
    STANDARD = "standard", "Standard"
    PROFESSIONAL = "professional", "Professional"
    ENTERPRISE = "enterprise", "Enterprise"


class SizeUnit(models.TextChoices):
    CENTIMETER = "cm", "Centimeter"
    INCH = "in", "Inch"


class VolumeUnit(models.TextChoices):
    CUBIC_CENTIMETER = "cm3", "Cubic Centimeter"
    CUBIC_INCH = "in3", "Cubic Inch"


class WeightUnit(models.TextChoices):
    KILOGRAM = "kg", "Kilogram"
    GRAM = "g", "Gram"
    POUND = "lb", "Pound"
    OUNCE = "oz", "Ounce"


# Size and Volume must belong to the same measurement system.
METRIC_UNITS = {SizeUnit.CENTIMETER, VolumeUnit.CUBIC_CENTIMETER}


class MasterProductSource(models.TextChoices):
    TECHOMS = "techoms", "techOMS"
    SALES_CHANNEL = "sales", "Sales Channel"
    FULFILLMENT_CHANNEL = "fulfillment", "Fulfillment Channel"


class Account(models.Model):
    organization = models.ForeignKey(
        Organization, verbose_name="Organization", on_delete=models.PROTECT, related_name="accounts"
    )
    name = models.CharField("Name", max_length=120)
    code = models.CharField("Code", max_length=32, validators=[ACCOUNT_CODE_VALIDATOR])
    # The API key itself is never stored: only a lookup prefix and a SHA-256 hash.
    api_key_prefix = models.CharField(max_length=16, blank=True, default="", db_index=True)
    api_key_hash = models.CharField(max_length=64, blank=True, default="")
    api_key_created_at = models.DateTimeField(null=True, blank=True)
    api_key_last_used_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField("Timezone", max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    license_type = models.CharField(
        "License Type", max_length=16, choices=LicenseType.choices, default=LicenseType.STANDARD
    )
    size_unit = models.CharField("Size", max_length=4, choices=SizeUnit.choices, default=SizeUnit.CENTIMETER)
    volume_unit = models.CharField(
        "Volume", max_length=4, choices=VolumeUnit.choices, default=VolumeUnit.CUBIC_CENTIMETER
    )
    weight_unit = models.CharField(
        "Weight", max_length=4, choices=WeightUnit.choices, default=WeightUnit.KILOGRAM
    )
    master_product_source = models.CharField(
        "Master Product Source",
        max_length=16,
        choices=MasterProductSource.choices,
        default=MasterProductSource.TECHOMS,
    )
    master_product_channel = models.ForeignKey(
        "channels.Channel",
        verbose_name="Master Product Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    default_warehouse = models.ForeignKey(
        "Warehouse",
        verbose_name="Default Warehouse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    auto_sales_order_workflow = models.BooleanField("Enable Automatic Sales Order Workflow", default=False)
    auto_purchase_order_workflow = models.BooleanField(
        "Enable Automatic Purchase Order Workflow", default=False
    )
    inventory_realtime_updates = models.BooleanField("Enable Inventory Real-Time Updates", default=True)
    pii_retention_days = models.PositiveIntegerField(
        "PII retention days for non-sales channels (API, manual, and imported orders)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    is_active = models.BooleanField("Active", default=True)
    # Optimistic locking: one counter per tab that holds a form (Main, API Validation Rules).
    version = models.PositiveIntegerField(default=1)
    validation_rules_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="account_code_unique_ci"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def tzinfo(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


class Warehouse(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="warehouses")
    name = models.CharField("Name", max_length=120)
    code = models.CharField("Code", max_length=32)
    address = models.CharField("Address", max_length=255, blank=True)
    is_active = models.BooleanField("Active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", Upper("code"), name="warehouse_code_unique_per_account"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    ORGANIZATION_ADMINISTRATOR = "org_admin", "Organization Administrator"
    SUPERVISOR = "supervisor", "Supervisor"
    ACCOUNT_ADMINISTRATOR = "account_admin", "Account Administrator"
    ACCOUNT_USER = "account_user", "Account User"


ORGANIZATION_ROLES = (Role.ORGANIZATION_ADMINISTRATOR, Role.SUPERVISOR)
ACCOUNT_ROLES = (Role.ACCOUNT_ADMINISTRATOR, Role.ACCOUNT_USER)


class RoleAssignment(models.Model):
    """A person's role in one organization (org-level roles) or one account."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField("Role", max_length=16, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="roles"
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="roles"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        role__in=ORGANIZATION_ROLES,
                        organization__isnull=False,
                        account__isnull=True,
                    )
                    | models.Q(role__in=ACCOUNT_ROLES, organization__isnull=True, account__isnull=False)
                ),
                name="role_scope_matches_role",
            ),
            models.UniqueConstraint(
                "user", "organization", name="one_org_role_per_user", condition=models.Q(account__isnull=True)
            ),
            models.UniqueConstraint(
                "user",
                "account",
                name="one_account_role_per_user",
                condition=models.Q(organization__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} of {self.organization or self.account}"


class AuditEntry(models.Model):
    """One changed field of one saved change: who, when, field, old → new."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_entries")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64)
    field = models.CharField(max_length=120, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.field}"


class ValidationDocument(models.TextChoices):
    SALES_ORDERS = "sales_orders", "Sales Orders"
    SHIPMENTS = "shipments", "Shipments"
    PURCHASE_ORDERS = "purchase_orders", "Purchase Orders"
    RECEIPTS = "receipts", "Receipts"


class ValidationCheck(models.TextChoices):
    MISSING_CARRIER_CODE = "missing_carrier_code", "Missing Carrier Code"
    INVALID_CARRIER_CODE = "invalid_carrier_code", "Invalid Carrier Code"
    MISSING_SERVICE_CODE = "missing_service_code", "Missing Service Code"
    INVALID_SERVICE_CODE = "invalid_service_code", "Invalid Service Code"


class EnforcementStatus(models.TextChoices):
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class ApiValidationRule(models.Model):
    """Enforcement of one check on one document type; a missing row means Warning."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="validation_rules")
    document = models.CharField(max_length=20, choices=ValidationDocument.choices)
    check_type = models.CharField(max_length=24, choices=ValidationCheck.choices)
    status = models.CharField(
        max_length=8, choices=EnforcementStatus.choices, default=EnforcementStatus.WARNING
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("account", "document", "check_type", name="one_rule_per_check"),
        ]

    def __str__(self):
        return f"{self.get_document_display()} / {self.get_check_type_display()}: {self.get_status_display()}"
