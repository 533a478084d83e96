"""The emulated org's metadata: sObjects, their fields, key prefixes and describe results.

Field and object names are case-insensitive in SOQL and in the REST paths, as in
Salesforce; :class:`ObjectDef` keeps the canonical spelling and looks names up
case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FIELD_TYPES",
    "FieldDef",
    "ObjectDef",
    "Schema",
    "SchemaError",
    "standard_objects",
]

FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "email",
        "phone",
        "picklist",
        "textarea",
        "url",
        "boolean",
        "double",
        "currency",
        "percent",
        "int",
        "date",
        "datetime",
        "reference",
    }
)
"""The describe ``type`` values the emulator supports."""

STRING_TYPES = frozenset(
    {"id", "string", "email", "phone", "picklist", "textarea", "url", "reference"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}

_LENGTHS = {"string": 255, "email": 80, "phone": 40, "picklist": 255, "textarea": 32000, "url": 255}

SYSTEM_FIELDS = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    }
)
"""Fields that only the platform writes: never createable or updateable through the API."""


class SchemaError(ValueError):
    """A metadata request the emulator cannot honour (unknown object, bad field type)."""


@dataclass
class FieldDef:
    """One field of an sObject, with what ``describe`` says about it."""

    name: str
    type: str
    label: str = ""
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    calculated: bool = False
    required: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise SchemaError(f"Field type '{self.type}' is not supported by the emulator.")
        if not self.label:
            self.label = _label_for(self.name)

    @property
    def filterable(self) -> bool:
        """Whether the field may appear in a WHERE clause (long text areas may not)."""
        return self.type != "textarea"

    @property
    def sortable(self) -> bool:
        """Whether the field may appear in ORDER BY."""
        return self.type != "textarea"

    def describe(self) -> dict[str, Any]:
        """This field as it appears in ``fields`` of a describe result."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "length": _LENGTHS.get(self.type, 0),
            "filterable": self.filterable,
            "sortable": self.sortable,
            "groupable": self.type not in ("textarea", "double", "currency", "percent"),
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "custom": self.custom,
            "calculated": self.calculated,
            "defaultedOnCreate": self.name in SYSTEM_FIELDS or self.name == "OwnerId",
            "idLookup": self.name == "Id" or self.type == "email",
            "unique": self.name == "Id",
            "externalId": False,
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "value": value}
                for value in self.picklist_values
            ],
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
        }


def _label_for(name: str) -> str:
    """A human label from an API name: ``Lead_Status__c`` → ``Lead Status``, ``OwnerId`` → ``Owner ID``."""
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    out: list[str] = []
    for index, char in enumerate(base.replace("_", " ")):
        if char.isupper() and index and base[index - 1].islower():
            out.append(" ")
        out.append(char)
    return "".join(out).strip()


@dataclass
class ObjectDef:
    """One sObject type: its canonical name, key prefix and fields (looked up case-insensitively)."""

    name: str
    label: str
    key_prefix: str
    custom: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)
    name_computed: bool = False
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, repr=False)
    _relationships: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def add(self, fdef: FieldDef) -> FieldDef:
        """Add a field (replacing one of the same name)."""
        self.fields[fdef.name] = fdef
        self._by_lower[fdef.name.lower()] = fdef
        if fdef.relationship_name:
            self._relationships[fdef.relationship_name.lower()] = fdef
        return fdef

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` (any case), or ``None``."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship is called ``name`` (``Owner`` → ``OwnerId``)."""
        return self._relationships.get(name.lower())

    def url(self, version: str) -> str:
        """The sObject's REST base path for an API version (``64.0``)."""
        return f"/services/data/v{version}/sobjects/{self.name}"

    def summary(self, version: str) -> dict[str, Any]:
        """The entry for this object in describeGlobal (``GET /sobjects``)."""
        base = self.url(version)
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "queryable": True,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "searchable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def describe(self, version: str) -> dict[str, Any]:
        """The result of ``GET /sobjects/{name}/describe``."""
        result = self.summary(version)
        result["fields"] = [fdef.describe() for fdef in self.fields.values()]
        result["childRelationships"] = []
        result["recordTypeInfos"] = []
        return result


def _system_fields(obj: ObjectDef, *, owned: bool) -> None:
    """Add the fields every sObject has (Id, audit fields, and OwnerId when ``owned``)."""
    obj.add(FieldDef("Id", "id", "Record ID", nillable=False, createable=False, updateable=False))
    if owned:
        obj.add(
            FieldDef(
                "OwnerId",
                "reference",
                "Owner ID",
                nillable=False,
                reference_to="User",
                relationship_name="Owner",
            )
        )
    obj.add(
        FieldDef(
            "IsDeleted", "boolean", "Deleted", nillable=False, createable=False, updateable=False
        )
    )
    for name, ref in (
        ("CreatedDate", None),
        ("CreatedById", "CreatedBy"),
        ("LastModifiedDate", None),
        ("LastModifiedById", "LastModifiedBy"),
        ("SystemModstamp", None),
    ):
        obj.add(
            FieldDef(
                name,
                "reference" if ref else "datetime",
                nillable=False,
                createable=False,
                updateable=False,
                reference_to="User" if ref else None,
                relationship_name=ref,
            )
        )


def _person_name(obj: ObjectDef) -> None:
    """FirstName, LastName (required) and the computed Name of Contact, Lead and User."""
    obj.add(FieldDef("FirstName", "string"))
    obj.add(FieldDef("LastName", "string", nillable=False, required=True))
    obj.add(
        FieldDef("Name", "string", "Full Name", createable=False, updateable=False, calculated=True)
    )
    obj.name_computed = True


LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CONTACT_LEAD_STATUSES = ("Prospect", "Qualified", "Negotiation", "Customer", "Churned")
INDUSTRIES = (
    "Technology",
    "Finance",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Media",
    "Education",
)
OPPORTUNITY_STAGES: dict[str, tuple[float, bool, bool]] = {
    "Prospecting": (10.0, False, False),
    "Qualification": (10.0, False, False),
    "Needs Analysis": (20.0, False, False),
    "Value Proposition": (50.0, False, False),
    "Id. Decision Makers": (60.0, False, False),
    "Perception Analysis": (70.0, False, False),
    "Proposal/Price Quote": (75.0, False, False),
    "Negotiation/Review": (90.0, False, False),
    "Closed Won": (100.0, True, True),
    "Closed Lost": (0.0, True, False),
}
"""Opportunity stage → (default Probability, IsClosed, IsWon), as in a new org."""


def standard_objects() -> list[ObjectDef]:
    """The standard objects of a new org: User, Account, Contact, Lead, Opportunity."""
    user = ObjectDef("User", "User", "005")
    _system_fields(user, owned=False)
    _person_name(user)
    user.add(FieldDef("Username", "string", nillable=False, required=True))
    user.add(FieldDef("Email", "email", nillable=False, required=True))
    user.add(FieldDef("Alias", "string"))
    user.add(FieldDef("Title", "string"))
    user.add(FieldDef("IsActive", "boolean", "Active", nillable=False))

    account = ObjectDef("Account", "Account", "001")
    _system_fields(account, owned=True)
    account.add(FieldDef("Name", "string", "Account Name", nillable=False, required=True))
    account.add(FieldDef("Industry", "picklist", picklist_values=INDUSTRIES))
    account.add(FieldDef("Type", "picklist", "Account Type"))
    account.add(FieldDef("Phone", "phone", "Account Phone"))
    account.add(FieldDef("Website", "url"))
    account.add(FieldDef("BillingCity", "string"))
    account.add(FieldDef("BillingCountry", "string"))
    account.add(FieldDef("AnnualRevenue", "currency"))
    account.add(FieldDef("NumberOfEmployees", "int", "Employees"))
    account.add(FieldDef("Description", "textarea", "Account Description"))

    contact = ObjectDef("Contact", "Contact", "003")
    _system_fields(contact, owned=True)
    _person_name(contact)
    contact.add(FieldDef("Salutation", "picklist"))
    contact.add(
        FieldDef(
            "AccountId",
            "reference",
            "Account ID",
            reference_to="Account",
            relationship_name="Account",
        )
    )
    contact.add(FieldDef("Email", "email"))
    contact.add(FieldDef("Phone", "phone", "Business Phone"))
    contact.add(FieldDef("MobilePhone", "phone", "Mobile Phone"))
    contact.add(FieldDef("Title", "string"))
    contact.add(FieldDef("Department", "string"))
    contact.add(FieldDef("LeadSource", "picklist", picklist_values=LEAD_SOURCES))
    contact.add(FieldDef("MailingCity", "string"))
    contact.add(FieldDef("MailingCountry", "string"))
    contact.add(FieldDef("Birthdate", "date"))
    contact.add(FieldDef("Description", "textarea", "Contact Description"))
    contact.add(
        FieldDef(
            "Lead_Status__c",
            "picklist",
            "Lead Status",
            custom=True,
            picklist_values=CONTACT_LEAD_STATUSES,
        )
    )

    lead = ObjectDef("Lead", "Lead", "00Q")
    _system_fields(lead, owned=True)
    _person_name(lead)
    lead.add(FieldDef("Company", "string", nillable=False, required=True))
    lead.add(
        FieldDef("Status", "picklist", "Lead Status", nillable=False, picklist_values=LEAD_STATUSES)
    )
    lead.add(FieldDef("Title", "string"))
    lead.add(FieldDef("Email", "email"))
    lead.add(FieldDef("Phone", "phone"))
    lead.add(FieldDef("LeadSource", "picklist", picklist_values=LEAD_SOURCES))
    lead.add(FieldDef("Industry", "picklist", picklist_values=INDUSTRIES))
    lead.add(FieldDef("IsConverted", "boolean", "Converted", nillable=False))
    lead.add(FieldDef("Description", "textarea"))

    opportunity = ObjectDef("Opportunity", "Opportunity", "006")
    _system_fields(opportunity, owned=True)
    opportunity.add(FieldDef("Name", "string", "Opportunity Name", nillable=False, required=True))
    opportunity.add(
        FieldDef(
            "AccountId",
            "reference",
            "Account ID",
            reference_to="Account",
            relationship_name="Account",
        )
    )
    opportunity.add(
        FieldDef(
            "ContactId",
            "reference",
            "Contact ID",
            reference_to="Contact",
            relationship_name="Contact",
        )
    )
    opportunity.add(
        FieldDef(
            "StageName",
            "picklist",
            "Stage",
            nillable=False,
            required=True,
            picklist_values=tuple(OPPORTUNITY_STAGES),
        )
    )
    opportunity.add(FieldDef("Amount", "currency"))
    opportunity.add(FieldDef("Probability", "percent", "Probability (%)"))
    opportunity.add(FieldDef("CloseDate", "date", nillable=False, required=True))
    opportunity.add(
        FieldDef(
            "IsClosed", "boolean", "Closed", nillable=False, createable=False, updateable=False
        )
    )
    opportunity.add(
        FieldDef("IsWon", "boolean", "Won", nillable=False, createable=False, updateable=False)
    )
    opportunity.add(FieldDef("Type", "picklist", "Opportunity Type"))
    opportunity.add(FieldDef("LeadSource", "picklist", picklist_values=LEAD_SOURCES))
    opportunity.add(FieldDef("Description", "textarea"))
    return [user, account, contact, lead, opportunity]


class Schema:
    """All sObject types of the emulated org, looked up case-insensitively."""

    def __init__(self) -> None:
        self._objects: dict[str, ObjectDef] = {}
        self._next_custom_prefix = 1
        for obj in standard_objects():
            self._objects[obj.name.lower()] = obj

    def get(self, name: str) -> ObjectDef | None:
        """The object called ``name`` (any case), or ``None``."""
        return self._objects.get(name.lower())

    def require(self, name: str) -> ObjectDef:
        """The object called ``name``; raises :class:`SchemaError` when there is none."""
        obj = self.get(name)
        if obj is None:
            raise SchemaError(f"sObject type '{name}' is not supported.")
        return obj

    def objects(self) -> list[ObjectDef]:
        """Every object, standard first, in definition order."""
        return list(self._objects.values())

    def define_object(
        self, name: str, fields: dict[str, str], *, label: str | None = None
    ) -> ObjectDef:
        """Define a custom object ``name`` (ending in ``__c``) with ``fields`` (name → type).

        A type ``"reference:Account"`` makes a lookup to Account whose relationship name
        is the field's with ``__r`` in place of ``__c``.
        """
        if not name.endswith("__c"):
            raise SchemaError(f"Custom object name '{name}' must end in '__c'.")
        if self.get(name) is not None:
            raise SchemaError(f"sObject type '{name}' already exists.")
        prefix = f"a0{_BASE62[self._next_custom_prefix % 62]}"
        self._next_custom_prefix += 1
        obj = ObjectDef(name, label or _label_for(name), prefix, custom=True)
        _system_fields(obj, owned=True)
        obj.add(FieldDef("Name", "string", f"{obj.label} Name"))
        self._objects[name.lower()] = obj
        for field_name, field_type in fields.items():
            self.add_field(name, field_name, field_type)
        return obj

    def add_field(
        self, object_name: str, field_name: str, field_type: str, *, label: str | None = None
    ) -> FieldDef:
        """Add a custom field (ending in ``__c``) to any object; ``reference:Obj`` for a lookup."""
        obj = self.require(object_name)
        if not field_name.endswith("__c"):
            raise SchemaError(f"Custom field name '{field_name}' must end in '__c'.")
        reference_to: str | None = None
        relationship: str | None = None
        if field_type.startswith("reference"):
            _, _, target = field_type.partition(":")
            target_obj = self.require(target or "User")
            reference_to = target_obj.name
            relationship = field_name[:-3] + "__r"
            field_type = "reference"
        return obj.add(
            FieldDef(
                field_name,
                field_type,
                label or "",
                custom=True,
                reference_to=reference_to,
                relationship_name=relationship,
            )
        )


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
