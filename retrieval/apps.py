from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval and answers"

    def ready(self) -> None:
        # Conversations hold (redacted) text too: erasure and the leak scan, which live below this app and may not
        # import it, reach them through the core's extension points.
        from cleanroom.extensions import erasure_hook_register, leakscan_source_register
        from retrieval.conversations import conversation_texts, conversations_erase

        erasure_hook_register("conversations", conversations_erase)
        leakscan_source_register("conversations", conversation_texts)
