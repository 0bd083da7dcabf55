from django.urls import path

from . import views_cards, views_outbreaks, views_review, views_signals, views_timeliness

app_name = "surveillance"
urlpatterns = [
    path("", views_cards.home, name="home"),
    path("cards/", views_cards.cards, name="cards"),
    path("cards/new/", views_cards.card_new, name="card_new"),
    path("cards/new/deadline/", views_cards.card_deadline, name="card_deadline"),
    path("cards/<int:pk>/", views_cards.card_detail, name="card"),
    path("cards/<int:pk>/accept/", views_review.card_act, {"action": "accept"}, name="card_accept"),
    path("cards/<int:pk>/return/", views_review.card_act, {"action": "return"}, name="card_return"),
    path("cards/<int:pk>/revise/", views_review.card_act, {"action": "revise"}, name="card_revise"),
    path("cards/<int:pk>/delete/", views_review.card_act, {"action": "delete"}, name="card_delete"),
    path("cards/<int:pk>/correct/", views_review.card_act, {"action": "correct"}, name="card_correct"),
    path("timeliness/", views_timeliness.timeliness, name="timeliness"),
    path("signals/", views_signals.signals, name="signals"),
    path("signals/run/", views_signals.alerts_today, name="alerts_run"),
    path("signals/<int:pk>/", views_signals.signal_detail, name="signal"),
    path("signals/<int:pk>/verify/", views_signals.signal_act, {"action": "verify"}, name="signal_verify"),
    path("signals/<int:pk>/dismiss/", views_signals.signal_act, {"action": "dismiss"}, name="signal_dismiss"),
    path("signals/<int:pk>/investigate/", views_signals.signal_act, {"action": "investigate"},
         name="signal_investigate"),
    path("outbreaks/", views_outbreaks.outbreaks, name="outbreaks"),
    path("outbreaks/<int:pk>/", views_outbreaks.outbreak_detail, name="outbreak"),
    path("outbreaks/<int:pk>/link/", views_outbreaks.outbreak_act, {"action": "link"}, name="outbreak_link"),
    path("outbreaks/<int:pk>/close/", views_outbreaks.outbreak_act, {"action": "close"}, name="outbreak_close"),
    path("plotly.min.js", views_signals.plotly_js, name="plotly_js"),
]
