import { defineStore } from "pinia";
import { ref } from "vue";

export type ToastTone = "info" | "success" | "error";

export interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
}

export const useToastStore = defineStore("toasts", () => {
  /** Short messages shown in the corner; read out by screen readers via role="status". */
  const toasts = ref<Toast[]>([]);
  let nextId = 1;

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((toast) => toast.id !== id);
  }

  /** Shows a message; it disappears after `durationMs` (0 keeps it until dismissed). */
  function show(message: string, tone: ToastTone = "info", durationMs = 4000): number {
    const id = nextId++;
    toasts.value = [...toasts.value, { id, message, tone }];
    if (durationMs > 0) setTimeout(() => dismiss(id), durationMs);
    return id;
  }

  return { toasts, show, dismiss };
});
