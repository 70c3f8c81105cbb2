"""Admin inlines that screen readers can read: Django's tabular inline puts each field's
label in the column header only, so its inputs (the delete box too) have no accessible
name (axe: "Form elements must have labels"). Each widget gets its label as `aria-label`."""

from django.contrib import admin


class LabelledTabularInline(admin.TabularInline):
    """A TabularInline whose inputs carry their column's label (see module docstring)."""

    def get_formset(self, request, obj=None, **kwargs):
        base = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(base):
            def add_fields(self, form, index):
                super().add_fields(form, index)  # adds DELETE and the ordering field
                for name, field in form.fields.items():
                    label = field.label or name.replace("_", " ").capitalize()
                    field.widget.attrs.setdefault("aria-label", str(label))

        LabelledFormSet.__name__ = base.__name__
        return LabelledFormSet
