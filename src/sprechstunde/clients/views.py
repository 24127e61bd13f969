from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class ClientListView(LoginRequiredMixin, TemplateView):
    template_name = "clients/list.html"
