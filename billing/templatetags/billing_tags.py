from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as a short human duration: 40 s, 12 min, 5.5 h, 3.2 days; a dash for none."""
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register.filter
def hours(seconds) -> str:
    return f"{(seconds or 0) / 3600:.1f}"
