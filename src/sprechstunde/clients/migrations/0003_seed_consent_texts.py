"""Version 1 of the consent texts, in plain German and in English.

The texts are frozen here on purpose: later versions are published by an admin (each edit
creates version n+1), so this migration never has to change.
"""

from django.db import migrations
from django.utils import timezone

TEXTS = {
    ("portal", "de"): (
        "Nutzung des Online-Portals",
        """Sprechstunde ist das Online-Portal Ihres Jobcenters. Hier sehen Sie Ihre Termine, buchen Termine und verwalten Ihre Einwilligungen.

Wer verarbeitet Ihre Daten?
Ihr Jobcenter. Das Portal läuft auf den eigenen Servern des Jobcenters. Keine andere Firma bekommt Ihre Daten.

Welche Daten?
Ihr Name, Ihre E-Mail-Adresse, Ihre Handynummer (wenn Sie sie angegeben haben), Ihre Sprache, Ihre Termine und wann Sie sich angemeldet haben. Jeder Zugriff von Mitarbeitenden auf Ihre Daten wird protokolliert.

Wozu?
Damit Sie online mit dem Jobcenter in Kontakt bleiben können, ohne ins Jobcenter zu kommen.

Wie lange?
Solange Sie das Portal nutzen. Wenn Sie die Einwilligung widerrufen, wird Ihr Zugang sofort gesperrt. Was zu Ihrer Akte gehört, bewahrt das Jobcenter nach den gesetzlichen Fristen auf und löscht es danach.

Freiwillig
Die Nutzung ist freiwillig. Wenn Sie nicht einwilligen, haben Sie keine Nachteile. Ihre Leistungen (Ihr Geld) hängen nicht davon ab. Sie können alles auch per Post, am Telefon oder persönlich im Jobcenter erledigen.

Widerruf
Sie können die Einwilligung jederzeit widerrufen: mit einem Tipp auf der Seite „Datenschutz“ im Portal, oder per Post, am Telefon oder persönlich. Der Widerruf gilt sofort. Was vorher geschehen ist, bleibt rechtmäßig.

Ihre Rechte
Sie dürfen fragen, welche Daten wir über Sie haben, und falsche Daten berichtigen lassen. Bei Fragen hilft die oder der Datenschutzbeauftragte des Jobcenters.

Rechtsgrundlage: Ihre Einwilligung (Art. 6 Abs. 1 Buchstabe a und Art. 7 DSGVO, § 67b SGB X).""",
    ),
    ("portal", "en"): (
        "Using the online portal",
        """Sprechstunde is the online portal of your Jobcenter. Here you see your appointments, book appointments and manage your consents.

Who processes your data?
Your Jobcenter. The portal runs on the Jobcenter's own servers. No other company gets your data.

Which data?
Your name, your e-mail address, your mobile number (if you gave it), your language, your appointments and when you logged in. Every time staff look at your data, this is recorded.

What for?
So that you can stay in touch with the Jobcenter online, without coming to the Jobcenter.

For how long?
As long as you use the portal. If you withdraw your consent, your access is blocked at once. What belongs to your file is kept by the Jobcenter for the periods set by law and deleted afterwards.

Voluntary
Using the portal is voluntary. If you do not consent, you will have no disadvantage. Your benefits (your money) do not depend on it. You can do everything by post, by phone or in person at the Jobcenter as well.

Withdrawing
You can withdraw your consent at any time: with one tap on the "Data protection" page in the portal, or by post, by phone or in person. The withdrawal takes effect at once. What happened before stays lawful.

Your rights
You may ask which data we hold about you and have wrong data corrected. The Jobcenter's data protection officer helps with questions.

Legal basis: your consent (Art. 6(1)(a) and Art. 7 GDPR, § 67b SGB X).""",
    ),
    ("video", "de"): (
        "Videogespräche",
        """Sie können mit Ihrer Ansprechperson im Jobcenter per Video sprechen, statt ins Jobcenter zu kommen. Sie brauchen nur ein Handy oder einen Computer mit Kamera und Internet.

Wer verarbeitet Ihre Daten?
Ihr Jobcenter, auf seinen eigenen Servern.

Welche Daten?
Bild und Ton während des Gesprächs, Datum, Uhrzeit und Dauer. Bild und Ton werden verschlüsselt übertragen und nicht aufgezeichnet.

Wozu?
Für Beratungsgespräche per Video.

Wie lange?
Bild und Ton werden nicht gespeichert. Datum, Uhrzeit und Dauer des Termins bleiben in Ihrer Akte, wie bei jedem anderen Termin.

Freiwillig
Die Einwilligung ist freiwillig. Ohne sie sprechen wir am Telefon oder persönlich im Jobcenter mit Ihnen.

Widerruf
Jederzeit: mit einem Tipp auf der Seite „Datenschutz“ im Portal, oder per Post, am Telefon oder persönlich. Danach planen wir keine Videogespräche mehr mit Ihnen.

Rechtsgrundlage: Ihre Einwilligung (Art. 6 Abs. 1 Buchstabe a und Art. 7 DSGVO, § 67b SGB X).""",
    ),
    ("video", "en"): (
        "Video consultations",
        """You can talk to your contact person at the Jobcenter by video instead of coming to the Jobcenter. All you need is a phone or a computer with a camera and internet.

Who processes your data?
Your Jobcenter, on its own servers.

Which data?
Picture and sound during the talk, and its date, time and length. Picture and sound are encrypted on the way and are not recorded.

What for?
For advice talks by video.

For how long?
Picture and sound are not stored. The date, time and length of the appointment stay in your file, like for any other appointment.

Voluntary
This consent is voluntary. Without it we talk to you by phone or in person at the Jobcenter.

Withdrawing
At any time: with one tap on the "Data protection" page in the portal, or by post, by phone or in person. After that we plan no more video talks with you.

Legal basis: your consent (Art. 6(1)(a) and Art. 7 GDPR, § 67b SGB X).""",
    ),
    ("electronic_delivery", "de"): (
        "Dokumente elektronisch erhalten",
        """Das Jobcenter kann Ihnen Bescheide und andere Dokumente im Portal bereitstellen, statt sie mit der Post zu schicken (§ 37 Absatz 2a SGB X).

So funktioniert es
Wir schicken Ihnen eine E-Mail: „Sie haben ein neues Dokument im Portal.“ In der E-Mail stehen keine persönlichen Daten. Sie melden sich an und lesen das Dokument im Portal.

Wichtig: Fristen
Ein Bescheid gilt am dritten Tag nach unserer E-Mail als bekannt gegeben. Ab dann laufen Fristen, zum Beispiel für einen Widerspruch. Schauen Sie deshalb regelmäßig in Ihre E-Mails und ins Portal.

Welche Daten?
Die Dokumente selbst, und wann wir sie bereitgestellt haben, wann wir Sie benachrichtigt haben und wann Sie sie zum ersten Mal geöffnet haben.

Wie lange?
Die Dokumente gehören zu Ihrer Akte. Das Jobcenter bewahrt sie nach den gesetzlichen Fristen auf.

Freiwillig
Die Einwilligung ist freiwillig. Ohne sie bekommen Sie alle Dokumente wie bisher mit der Post.

Widerruf
Jederzeit: mit einem Tipp auf der Seite „Datenschutz“ im Portal, oder per Post, am Telefon oder persönlich. Danach bekommen Sie Dokumente wieder mit der Post.

Rechtsgrundlage: Ihre Einwilligung (§ 37 Absatz 2a SGB X, Art. 6 Abs. 1 Buchstabe a DSGVO).""",
    ),
    ("electronic_delivery", "en"): (
        "Receiving documents electronically",
        """The Jobcenter can put decisions and other documents into the portal for you instead of sending them by post (§ 37(2a) SGB X).

How it works
We send you an e-mail: "You have a new document in the portal." The e-mail contains no personal data. You log in and read the document in the portal.

Important: deadlines
A decision counts as delivered on the third day after our e-mail. Deadlines start from then, for example for an objection (Widerspruch). So please check your e-mails and the portal regularly.

Which data?
The documents themselves, and when we provided them, when we told you about them and when you first opened them.

For how long?
The documents belong to your file. The Jobcenter keeps them for the periods set by law.

Voluntary
This consent is voluntary. Without it you receive all documents by post, as before.

Withdrawing
At any time: with one tap on the "Data protection" page in the portal, or by post, by phone or in person. After that you receive documents by post again.

Legal basis: your consent (§ 37(2a) SGB X, Art. 6(1)(a) GDPR).""",
    ),
}


def seed(apps, schema_editor):
    ConsentText = apps.get_model("clients", "ConsentText")
    now = timezone.now()
    for (purpose, language), (title, body) in TEXTS.items():
        ConsentText.objects.get_or_create(
            purpose=purpose,
            language=language,
            version=1,
            defaults={"title": title, "body": body, "published_at": now},
        )


class Migration(migrations.Migration):

    dependencies = [
        ("clients", "0002_invitation_mail_state"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
