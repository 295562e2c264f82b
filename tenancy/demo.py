"""Demo organizations, people, projects and workforce (see the `demo` command)."""

from .models import Organization, Role
from .selectors import vendor_organization
from .services import member_create, organization_create, project_create, workforce_assign

DEMO_PASSWORD = "labelqa-demo-2026"
NORTHWIND = "Northwind Retail"
GLOBEX = "Globex Health"
DEMO_USERS = [
    ("operator", Role.OPERATOR.value, "(vendor)"),
    ("qa.lead", Role.QA_LEAD.value, "(vendor)"),
    ("annotator", Role.ANNOTATOR.value, "(vendor)"),
    ("annotator2", Role.ANNOTATOR.value, "(vendor)"),
    ("annotator3", Role.ANNOTATOR.value, "(vendor)"),
    ("northwind.admin", Role.CLIENT_ADMIN.value, NORTHWIND),
    ("northwind.viewer", Role.CLIENT_VIEWER.value, NORTHWIND),
    ("globex.admin", Role.CLIENT_ADMIN.value, GLOBEX),
]


def already_seeded() -> bool:
    return Organization.objects.filter(name=NORTHWIND).exists()


def seed(context: dict) -> None:
    vendor = vendor_organization()
    northwind = organization_create(name=NORTHWIND)
    globex = organization_create(name=GLOBEX)
    orgs = {"(vendor)": vendor, NORTHWIND: northwind, GLOBEX: globex}
    users = {}
    for username, role, org_name in DEMO_USERS:
        membership = member_create(
            organization=orgs[org_name],
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            email=f"{username}@example.com",
        )
        users[username] = membership.user
    reviews = project_create(
        organization=northwind,
        name="Product review sentiment",
        labels=["positive", "neutral", "negative"],
        instructions=(
            "Read the customer review and pick its overall sentiment.\n"
            "- positive: the customer is happy with the product\n"
            "- negative: the customer is unhappy, wants a refund, or reports a defect\n"
            "- neutral: mixed, factual, or no opinion"
        ),
        overlap=3,
        # Doubtful items go straight to the QA lead here (the demo has three annotators, so
        # a fourth opinion could not come from anyone).
        max_overlap=3,
        gold_rate=0.05,
        consensus="dawid_skene",
        min_agreement=0.7,
        created_by=users["northwind.admin"],
    )
    tickets = project_create(
        organization=globex,
        name="Support ticket routing",
        labels=["billing", "technical", "account", "other"],
        instructions="Route each patient-portal ticket to the team that should answer it.",
        overlap=2,
        created_by=users["globex.admin"],
    )
    for project in (reviews, tickets):
        workforce_assign(project=project, user=users["annotator"], role="annotator")
        workforce_assign(project=project, user=users["qa.lead"], role="qa_lead")
    workforce_assign(project=reviews, user=users["annotator2"], role="annotator")
    workforce_assign(project=reviews, user=users["annotator3"], role="annotator")
    context.update(users=users, projects={"reviews": reviews, "tickets": tickets})
