FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Collect with the production storage (hashed names + manifest); placeholder values,
# used for this build step only, satisfy the settings' production checks.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build.invalid \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc= EMAIL_URL=consolemail:// \
    python manage.py collectstatic --noinput
RUN useradd --create-home leadsync && mkdir -p /app/var && chown leadsync /app/var
USER leadsync
