import { onMounted, onScopeDispose, type Ref } from "vue";

/**
 * Opens a <dialog> as modal while its component is mounted: the page behind is
 * inert (the shared `.dialog` style keeps it from scrolling), and Esc asks to
 * close wherever the focus is. A keydown listener on the window rather than on
 * the dialog, because a refused submit disables the focused button and the
 * browser then moves the focus to <body>, out of the dialog's reach.
 */
export function useModalDialog(dialog: Ref<HTMLDialogElement | null>, requestClose: () => void): void {
  function onKeydown(event: KeyboardEvent): void {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    event.preventDefault();
    requestClose();
  }
  // The browser's own Esc handling would close the <dialog> behind Vue's back.
  const onCancel = (event: Event) => event.preventDefault();

  onMounted(() => {
    const element = dialog.value;
    if (element === null) return;
    element.addEventListener("cancel", onCancel);
    // jsdom has no showModal(); the open attribute is the closest it gets.
    if (typeof element.showModal === "function") element.showModal();
    else element.setAttribute("open", "");
    window.addEventListener("keydown", onKeydown);
  });
  onScopeDispose(() => {
    window.removeEventListener("keydown", onKeydown);
    const element = dialog.value;
    element?.removeEventListener("cancel", onCancel);
    if (element?.open && typeof element.close === "function") element.close();
  });
}
