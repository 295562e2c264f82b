from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def percent(part, whole) -> str:
    """A share in percent (a bar's width): 0..100 with one decimal, 0 when there is nothing."""
    if not whole:
        return "0"
    return f"{min(100.0, 100.0 * (part or 0) / whole):.1f}"
